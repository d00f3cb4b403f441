package dev.sluice.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * A certificate chain (the server's own certificate first) and its private key, read from PEM
 * files and checked to belong together ({@link PemFiles#read}).
 *
 * @param names the DNS names the certificate is for (its subjectAltName entries, else its
 *     subject's CN), lower case; {@code *.example.com} for a wildcard
 */
public record CertifiedKey(List<X509Certificate> chain, PrivateKey key, List<String> names, Instant notAfter) {
    public CertifiedKey {
        chain = List.copyOf(chain);
        names = List.copyOf(names);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a certificate chain has at least the server's own certificate");
        }
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** For logs: the names and the expiry. */
    public String describe() {
        return (names.isEmpty() ? leaf().getSubjectX500Principal().getName() : String.join(", ", names))
                + " (valid until " + notAfter + ")";
    }
}
