package dev.sluice.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How Sluice terminates TLS: the provider (BoringSSL through netty-tcnative when its native
 * library loads, else the JDK's TLS), the protocols, the ciphers and ALPN, the same for every
 * listener. One place, so a listener's contexts and the config check build them alike.
 */
public final class ServerTls {
    private static final Logger LOG = LoggerFactory.getLogger(ServerTls.class);

    /** TLS 1.3 and 1.2 only: 1.0 and 1.1 are deprecated (RFC 8996) and every current browser has dropped them. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * Mozilla's "intermediate" configuration (ssl-config.mozilla.org, guidelines 5.7): the TLS 1.3
     * suites, then for TLS 1.2 only ECDHE/DHE with AEAD ciphers, so every connection has forward
     * secrecy. It serves every client of the last decade (Firefox 27, Android 4.4.2, Chrome 31,
     * Safari 9, Java 8u31). A suite the provider lacks is left out (BoringSSL has no DHE).
     */
    public static final List<String> CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /**
     * ALPN on a listener without HTTP/2: {@code http/1.1} only. A client offered nothing it knows
     * (say, h2 alone) is still served HTTP/1.1 rather than refused.
     */
    private static final ApplicationProtocolConfig ALPN_HTTP_1_1 = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_1_1);

    /**
     * ALPN on a listener with HTTP/2: {@code h2} first, so a client offering both (every browser,
     * curl, gRPC) gets it; {@code http/1.1} for the others, and a client that offers neither (or no
     * ALPN at all) is served HTTP/1.1, as before HTTP/2 was built.
     */
    private static final ApplicationProtocolConfig ALPN_H2 = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);

    private ServerTls() {}

    /** The provider, chosen once per process and logged then. */
    private static final class Provider {
        static final SslProvider CHOSEN = choose();

        private static SslProvider choose() {
            if (OpenSsl.isAvailable()) {
                LOG.info("TLS by {} through netty-tcnative", OpenSsl.versionString());
                return SslProvider.OPENSSL;
            }
            LOG.info("TLS by the JDK's provider: netty-tcnative's native library is unavailable here ({})",
                    OpenSsl.unavailabilityCause() == null ? "unknown reason" : OpenSsl.unavailabilityCause().toString());
            return SslProvider.JDK;
        }
    }

    /** {@code openssl} or {@code jdk}: which TLS implementation serves. */
    public static String provider() {
        return Provider.CHOSEN == SslProvider.JDK ? "jdk" : "openssl";
    }

    /** A server context for one certificate, ALPN offering HTTP/1.1 only; throws when the provider cannot use it. */
    public static SslContext context(CertifiedKey certified) throws SSLException {
        return context(certified, false);
    }

    /**
     * A server context for one certificate, ALPN offering {@code h2} too when {@code http2};
     * throws when the provider cannot use it (an unsupported key type).
     */
    public static SslContext context(CertifiedKey certified, boolean http2) throws SSLException {
        SslContextBuilder builder = SslContextBuilder.forServer(certified.key(),
                        certified.chain().toArray(X509Certificate[]::new))
                .sslProvider(Provider.CHOSEN)
                .protocols(PROTOCOLS)
                .applicationProtocolConfig(http2 ? ALPN_H2 : ALPN_HTTP_1_1);
        // RFC 9113 §9.2.2: HTTP/2 over TLS 1.2 must not use the cipher suites of its block list;
        // every TLS 1.2 suite above is an ephemeral AEAD one, none of them on it.
        return builder.ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE).build();
    }
}
