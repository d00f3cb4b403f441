package dev.sluice.upstream;

import dev.sluice.config.CertificateConfig;
import dev.sluice.config.UpstreamTlsConfig;
import dev.sluice.tls.ClientTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLException;

/**
 * A cluster's TLS to its endpoints ({@code clusters[].tls}): the client context, made once per
 * published cluster, and the name each connection asks for and checks: the configured
 * {@code sni}, else the endpoint's host name as written (a resolved name keeps it), else its
 * address.
 */
public final class UpstreamTls {
    private final SslContext context;
    private final String sni;

    private UpstreamTls(SslContext context, String sni) {
        this.context = context;
        this.sni = sni;
    }

    /** The context for {@code config}, which the config check has already built once. */
    public static UpstreamTls of(UpstreamTlsConfig config) {
        return of(config, false);
    }

    /** The context for {@code config}; with {@code h2}, offering HTTP/2 alone by ALPN ({@code protocol: h2}). */
    public static UpstreamTls of(UpstreamTlsConfig config, boolean h2) {
        try {
            return new UpstreamTls(ClientTls.context(config.trusted(), config.verify(),
                    config.client().map(CertificateConfig::loaded).orElse(null), h2), config.sni().orElse(null));
        } catch (SSLException e) {
            throw new IllegalStateException("TLS to the cluster's endpoints cannot be set up: " + e.getMessage(), e);
        }
    }

    /** A handler for a new connection to {@code endpoint}, its handshake bounded by {@code timeoutMillis}. */
    SslHandler handler(ByteBufAllocator alloc, Endpoint endpoint, long timeoutMillis) {
        String host = sni != null ? sni : hostOf(endpoint.address());
        SslHandler handler = context.newHandler(alloc, host, endpoint.socketAddress().getPort());
        handler.setHandshakeTimeoutMillis(timeoutMillis);
        return handler;
    }

    /** The host of {@code host:port} or {@code [v6]:port}, as written in the config. */
    static String hostOf(String address) {
        if (address.startsWith("[")) {
            return address.substring(1, address.indexOf(']'));
        }
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }
}
