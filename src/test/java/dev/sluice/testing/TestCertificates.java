package dev.sluice.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made for one test, and server certificates it signs for given names,
 * written as the PEM files a listener's {@code tls:} names; a client trusting {@link #sslContext()}
 * trusts exactly these. EC P-256 keys: made in milliseconds, unlike RSA's.
 */
public final class TestCertificates {
    private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime());

    private final KeyPair caKeys;
    private final X509Certificate ca;

    private TestCertificates(KeyPair caKeys, X509Certificate ca) {
        this.caKeys = caKeys;
        this.ca = ca;
    }

    /** A new CA, valid from an hour ago for a day. */
    public static TestCertificates authority() {
        try {
            KeyPair keys = ecKeys();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=Sluice Test CA");
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name,
                    BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(1))), name, keys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            return new TestCertificates(keys, sign(builder, keys.getPrivate()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A server certificate and its key for {@code names} (DNS names, {@code *.x} wildcards allowed, or IPv4 addresses). */
    public Issued issue(String... names) {
        Instant now = Instant.now();
        return issue(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), names);
    }

    /** One valid from {@code notBefore} to {@code notAfter} (an expired one, say). */
    public Issued issue(Instant notBefore, Instant notAfter, String... names) {
        try {
            KeyPair keys = ecKeys();
            GeneralName[] alternatives = new GeneralName[names.length];
            for (int i = 0; i < names.length; i++) {
                alternatives[i] = names[i].matches("[0-9.]+") ? new GeneralName(GeneralName.iPAddress, names[i])
                        : new GeneralName(GeneralName.dNSName, names[i]);
            }
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    new X500Name("CN=Sluice Test CA"), BigInteger.valueOf(SERIALS.incrementAndGet()),
                    Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + names[0]), keys.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alternatives));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            return new Issued(sign(builder, caKeys.getPrivate()), keys.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client context that trusts this CA alone. */
    public SSLContext sslContext() {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca);
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The CA's certificate as PEM, for {@code curl --cacert}. */
    public Path writeCa(Path file) throws IOException {
        Files.writeString(file, pem(ca));
        return file;
    }

    /** A server certificate and its private key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
        /** Writes the certificate to {@code cert} and the key to {@code key} (PKCS#8), as certbot does. */
        public void writeTo(Path cert, Path key) throws IOException {
            Files.writeString(cert, pem(certificate));
            Files.writeString(key, pem(this.key));
        }
    }

    private static String pem(Object o) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(o instanceof PrivateKey k ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : o);
        }
        return text.toString();
    }

    private static KeyPair ecKeys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder builder, PrivateKey signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    }
}
