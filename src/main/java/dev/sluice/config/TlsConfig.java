package dev.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * A listener's TLS ({@code listeners[].tls}): its certificates, the first the default, the
 * others chosen by the name a client asks for (SNI).
 *
 * @param handshakeTimeout how long a client may take over its TLS handshake (a slowloris guard
 *     for the part of a connection before any HTTP)
 * @param watchInterval how often the certificate files are looked at for a renewal
 */
public record TlsConfig(List<CertificateConfig> certificates, Duration handshakeTimeout, Duration watchInterval) {
    /** 10 s: as {@code header_timeout}; a real client's handshake takes a few round trips, well under a second. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /**
     * 5 s: a renewed certificate is served within seconds of certbot or cert-manager writing it,
     * and looking at two small files that often costs nothing measurable.
     */
    public static final Duration DEFAULT_WATCH_INTERVAL = Duration.ofSeconds(5);

    public TlsConfig {
        certificates = List.copyOf(certificates);
    }

    /** The same settings without the certificates: what decides whether a listener's socket can stay. */
    public TlsConfig settings() {
        return new TlsConfig(List.of(), handshakeTimeout, watchInterval);
    }
}
