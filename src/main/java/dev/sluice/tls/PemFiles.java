package dev.sluice.tls;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Reads a certificate chain and its private key from PEM files, in the forms certbot and
 * cert-manager write them (a key as PKCS#8 {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}
 * or SEC1 {@code EC PRIVATE KEY}), and checks that the key belongs to the certificate. The
 * answer is a value: {@link Read.Usable}, perhaps with warnings (expired), or
 * {@link Read.Unusable} with the reason. Called off the event loops (config loading, the
 * certificate watcher): it reads files.
 */
public final class PemFiles {
    /** The answer of {@link #read}. */
    public sealed interface Read {
        /** The pair can serve; {@code warnings} say what a user should still fix (an expired certificate). */
        record Usable(CertifiedKey certified, List<String> warnings) implements Read {}

        /** The pair cannot serve: {@code reason} says why, naming the file. */
        record Unusable(String reason) implements Read {}
    }

    private static final int SAN_DNS_NAME = 2;

    private PemFiles() {}

    /** Reads both files and checks them against each other, with {@code now} for the validity warnings. */
    public static Read read(Path certFile, Path keyFile, Instant now) {
        List<Object> certObjects;
        List<Object> keyObjects;
        try {
            certObjects = pemObjects(certFile);
        } catch (IOException e) {
            return new Read.Unusable(unreadable(certFile, e));
        }
        try {
            keyObjects = pemObjects(keyFile);
        } catch (IOException e) {
            return new Read.Unusable(unreadable(keyFile, e));
        }
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : certObjects) {
            if (o instanceof X509CertificateHolder holder) {
                try {
                    chain.add(converter.getCertificate(holder));
                } catch (CertificateException e) {
                    return new Read.Unusable("'" + certFile + "' holds a certificate that cannot be read: " + e.getMessage());
                }
            }
        }
        if (chain.isEmpty()) {
            return new Read.Unusable("'" + certFile + "' holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block)");
        }
        PrivateKey key = null;
        JcaPEMKeyConverter keys = new JcaPEMKeyConverter();
        for (Object o : keyObjects) {
            try {
                if (o instanceof PrivateKeyInfo info) {
                    key = keys.getPrivateKey(info);
                } else if (o instanceof PEMKeyPair pair) {
                    key = keys.getKeyPair(pair).getPrivate();
                } else if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
                    return new Read.Unusable("the private key in '" + keyFile + "' is encrypted, and Sluice asks no "
                            + "passphrase: write it out unencrypted (openssl pkey -in KEY -out KEY.plain) and keep that "
                            + "file readable by Sluice alone");
                }
            } catch (IOException e) {
                return new Read.Unusable("'" + keyFile + "' holds a private key that cannot be read: " + e.getMessage());
            }
            if (key != null) {
                break;
            }
        }
        if (key == null) {
            return new Read.Unusable("'" + keyFile + "' holds no PEM private key (a '-----BEGIN PRIVATE KEY-----', "
                    + "'RSA PRIVATE KEY' or 'EC PRIVATE KEY' block)");
        }
        X509Certificate leaf = chain.get(0);
        if (!belongTogether(key, leaf.getPublicKey())) {
            return new Read.Unusable("the private key in '" + keyFile + "' does not belong to the certificate in '"
                    + certFile + "' (" + subject(leaf) + "): a renewal may have replaced one file and not yet the other");
        }
        List<String> warnings = new ArrayList<>();
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (notAfter.isBefore(now)) {
            warnings.add("the certificate in '" + certFile + "' (" + subject(leaf) + ") expired at " + notAfter
                    + "; clients will refuse it until it is renewed");
        } else if (leaf.getNotBefore().toInstant().isAfter(now)) {
            warnings.add("the certificate in '" + certFile + "' (" + subject(leaf) + ") is not valid before "
                    + leaf.getNotBefore().toInstant() + "; clients will refuse it until then");
        }
        return new Read.Usable(new CertifiedKey(chain, key, names(leaf), notAfter), warnings);
    }

    /** The answer of {@link #trusted}: the certificates a CA bundle holds, or why it cannot be used. */
    public sealed interface Trusted {
        record Certificates(List<X509Certificate> certificates) implements Trusted {}

        record Unusable(String reason) implements Trusted {}
    }

    /**
     * Reads a CA bundle: the PEM certificates that a backend's chain must lead to (for
     * {@code clusters[].tls.ca}). Called off the event loops.
     */
    public static Trusted trusted(Path bundle) {
        List<Object> objects;
        try {
            objects = pemObjects(bundle);
        } catch (IOException e) {
            return new Trusted.Unusable(unreadable(bundle, e));
        }
        List<X509Certificate> certificates = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : objects) {
            if (o instanceof X509CertificateHolder holder) {
                try {
                    certificates.add(converter.getCertificate(holder));
                } catch (CertificateException e) {
                    return new Trusted.Unusable("'" + bundle + "' holds a certificate that cannot be read: "
                            + e.getMessage());
                }
            }
        }
        if (certificates.isEmpty()) {
            return new Trusted.Unusable("'" + bundle + "' holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block)");
        }
        return new Trusted.Certificates(List.copyOf(certificates));
    }

    private static List<Object> pemObjects(Path file) throws IOException {
        List<Object> objects = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                objects.add(o);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            // A DER (binary) file, or something else that is not PEM text: no objects.
            return List.of();
        } catch (IOException e) {
            if (e instanceof NoSuchFileException || e instanceof AccessDeniedException) {
                throw e;
            }
            if (Files.isDirectory(file)) {
                throw new IOException("it is a directory");
            }
            // A malformed block: nothing usable in it.
            return List.of();
        }
        return objects;
    }

    private static String unreadable(Path file, IOException e) {
        String why = e instanceof NoSuchFileException ? "file not found"
                : e instanceof AccessDeniedException ? "permission denied" : e.getMessage();
        return "cannot read '" + file + "': " + why;
    }

    /** The key signs what the certificate's public key verifies: the one test that holds for every key type. */
    private static boolean belongTogether(PrivateKey key, PublicKey certified) {
        if (!key.getAlgorithm().equals(certified.getAlgorithm())
                && !(key.getAlgorithm().startsWith("EC") && certified.getAlgorithm().startsWith("EC"))) {
            return false;
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            byte[] probe = "sluice: does this key belong to this certificate?".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certified);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Its subjectAltName DNS names; the subject's CN only when it has none (RFC 6125 §6.4.4). */
    static List<String> names(X509Certificate certificate) {
        List<String> names = new ArrayList<>();
        try {
            var alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.size() >= 2 && entry.get(0) instanceof Integer type && type == SAN_DNS_NAME) {
                        names.add(entry.get(1).toString().toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // Unreadable extension: fall back to the CN.
        }
        if (names.isEmpty()) {
            commonName(certificate).ifPresent(cn -> names.add(cn.toLowerCase(Locale.ROOT)));
        }
        return names;
    }

    private static java.util.Optional<String> commonName(X509Certificate certificate) {
        try {
            for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return java.util.Optional.of(rdn.getValue().toString());
                }
            }
        } catch (InvalidNameException e) {
            // No CN to take.
        }
        return java.util.Optional.empty();
    }

    private static String subject(X509Certificate certificate) {
        List<String> names = names(certificate);
        return names.isEmpty() ? certificate.getSubjectX500Principal().getName() : "for " + String.join(", ", names);
    }
}
