package dev.sluice.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * How Sluice speaks TLS to backends: the same provider, protocols and ciphers as its listeners
 * ({@link ServerTls}), the backend's certificate checked against the system's trusted CAs or a
 * bundle of the config's, and its name checked against the one Sluice asked for (SNI), as a
 * browser does (RFC 6125). Verification can be turned off for a backend with a self-signed
 * certificate, which the config warns about.
 */
public final class ClientTls {
    private ClientTls() {}

    /**
     * A client context.
     *
     * @param trusted the CAs a backend's chain must lead to; empty for the JDK's default trust store
     * @param verify false to accept any certificate for any name (a warned-about config)
     * @param client the certificate Sluice presents when a backend asks for one (mutual TLS), or null
     */
    public static SslContext context(List<X509Certificate> trusted, boolean verify, CertifiedKey client)
            throws SSLException {
        return context(trusted, verify, client, false);
    }

    /**
     * A client context; with {@code h2}, one that offers only HTTP/2 by ALPN (RFC 7301), for a
     * cluster that speaks it: a backend that does not choose it fails the connection
     * ({@code Http2Upstream} checks the choice), rather than Sluice guessing what it speaks.
     */
    public static SslContext context(List<X509Certificate> trusted, boolean verify, CertifiedKey client, boolean h2)
            throws SSLException {
        SslContextBuilder builder = SslContextBuilder.forClient()
                .sslProvider(ServerTls.provider().equals("jdk") ? io.netty.handler.ssl.SslProvider.JDK
                        : io.netty.handler.ssl.SslProvider.OPENSSL)
                .protocols(ServerTls.PROTOCOLS)
                .ciphers(ServerTls.CIPHERS, SupportedCipherSuiteFilter.INSTANCE);
        if (!verify) {
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            if (!trusted.isEmpty()) {
                builder.trustManager(trusted);
            }
            // The certificate must name the host Sluice asked for, not only chain to a trusted CA.
            builder.endpointIdentificationAlgorithm("HTTPS");
        }
        if (client != null) {
            builder.keyManager(client.key(), client.chain());
        }
        if (h2) {
            builder.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2));
        }
        return builder.build();
    }
}
