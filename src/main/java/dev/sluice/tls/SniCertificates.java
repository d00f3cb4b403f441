package dev.sluice.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * A listener's certificates, chosen per connection by the name the client asks for (SNI): the
 * first certificate whose names match (exactly, or a {@code *.example.com} wildcard for one
 * label), else the first of all, as for a client that sends no name. Replaced whole by
 * {@link #use}: a connection already past its handshake keeps the certificate it got; the next
 * one gets the new ones.
 */
public final class SniCertificates implements Mapping<String, SslContext> {
    private record Serving(List<CertifiedKey> certificates, Mapping<String, SslContext> byName) {}

    private volatile Serving serving;
    /** ALPN offers {@code h2} too (the listener's {@code http2}). */
    private final boolean http2;

    public SniCertificates(List<CertifiedKey> certificates) throws SSLException {
        this(certificates, false);
    }

    /** @param http2 ALPN offers {@code h2} before {@code http/1.1} */
    public SniCertificates(List<CertifiedKey> certificates, boolean http2) throws SSLException {
        this.http2 = http2;
        this.serving = build(certificates, http2);
    }

    /** Serves {@code certificates} from the next handshake on; unchanged when one cannot be used (the exception says why). */
    public void use(List<CertifiedKey> certificates) throws SSLException {
        serving = build(certificates, http2);
    }

    /** What is served now, in the config's order. */
    public List<CertifiedKey> certificates() {
        return serving.certificates();
    }

    @Override
    public SslContext map(String hostname) {
        return serving.byName().map(hostname);
    }

    private static Serving build(List<CertifiedKey> certificates, boolean http2) throws SSLException {
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("a TLS listener has at least one certificate");
        }
        SslContext[] contexts = new SslContext[certificates.size()];
        for (int i = 0; i < contexts.length; i++) {
            contexts[i] = ServerTls.context(certificates.get(i), http2);
        }
        DomainWildcardMappingBuilder<SslContext> byName = new DomainWildcardMappingBuilder<>(contexts[0]);
        // Added last to first: a later add of the same name replaces an earlier one, and the first listed wins.
        for (int i = contexts.length - 1; i >= 0; i--) {
            for (String name : certificates.get(i).names()) {
                if (name.startsWith("*.") || !name.contains("*")) {
                    byName.add(name, contexts[i]);
                }
            }
        }
        return new Serving(List.copyOf(certificates), byName.build());
    }
}
