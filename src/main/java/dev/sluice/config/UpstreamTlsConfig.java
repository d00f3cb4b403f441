package dev.sluice.config;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * TLS to a cluster's endpoints ({@code clusters[].tls}).
 *
 * @param sni the name Sluice asks for (SNI) and checks the endpoint's certificate against; empty
 *     for the endpoint's own host name when it is written as a name, else none (an IP-literal
 *     endpoint's certificate must then name that address)
 * @param ca the CA bundle the endpoint's chain must lead to; empty for the JDK's trusted CAs
 * @param trusted the certificates read from {@code ca} when the config was loaded
 * @param verify false to accept any certificate for any name: a backend's self-signed
 *     certificate, at the price of an unauthenticated connection (the config warns)
 * @param client the certificate Sluice presents to an endpoint that asks for one (mutual TLS)
 */
public record UpstreamTlsConfig(Optional<String> sni, Optional<Path> ca, List<X509Certificate> trusted,
                                boolean verify, Optional<CertificateConfig> client) {
    public UpstreamTlsConfig {
        trusted = List.copyOf(trusted);
    }
}
