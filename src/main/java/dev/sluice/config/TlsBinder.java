package dev.sluice.config;

import dev.sluice.tls.CertifiedKey;
import dev.sluice.tls.PemFiles;
import dev.sluice.tls.ServerTls;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Binds {@code listeners[].tls}, and reads its certificate and key files now: a missing,
 * malformed or mismatched pair is refused like any bad config, at its {@code cert:} key, and an
 * expired certificate is warned about there.
 */
final class TlsBinder {
    private static final List<String> KEYS = List.of("cert", "key", "certificates", "handshake_timeout",
            "watch_interval");
    private static final List<String> PAIR_KEYS = List.of("cert", "key");

    private final Values values;
    private final String source;

    TlsBinder(Values values, String source) {
        this.values = values;
        this.source = source;
    }

    Optional<TlsConfig> bind(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        List<CertificateConfig> certificates = new ArrayList<>();
        if (f.optional("cert").isPresent() || f.optional("key").isPresent()) {
            pair(f).ifPresent(certificates::add);
        }
        f.optional("certificates").flatMap(n -> values.list(n, f.path("certificates"))).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                String itemPath = Paths.item(f.path("certificates"), i);
                values.map(list.items().get(i), itemPath)
                        .map(m -> Fields.of(m, itemPath, PAIR_KEYS, values.problems()))
                        .flatMap(this::pair).ifPresent(certificates::add);
            }
        });
        if (certificates.isEmpty() && values.problems().count() == before) {
            values.invalid(node, path, "a TLS listener needs a certificate: give 'cert' and 'key' (PEM files), "
                    + "or 'certificates', a list of them chosen by the name the client asks for");
        }
        Duration handshakeTimeout = f.optional("handshake_timeout")
                .flatMap(n -> values.duration(n, f.path("handshake_timeout"))).orElse(TlsConfig.DEFAULT_HANDSHAKE_TIMEOUT);
        Duration watchInterval = f.optional("watch_interval")
                .flatMap(n -> values.duration(n, f.path("watch_interval"))).orElse(TlsConfig.DEFAULT_WATCH_INTERVAL);
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new TlsConfig(certificates, handshakeTimeout, watchInterval));
    }

    private static final List<String> UPSTREAM_KEYS = List.of("sni", "ca", "verify", "cert", "key");

    /**
     * Binds {@code clusters[].tls}: TLS to the cluster's endpoints. {@code tls: {}} (or
     * {@code tls: true}) verifies each endpoint's certificate against the JDK's trusted CAs and
     * its name; the CA bundle and client certificate files are read now, like a listener's.
     */
    Optional<UpstreamTlsConfig> upstream(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar) {
            Optional<Boolean> on = values.bool(node, path);
            if (on.isEmpty() || !on.get()) {
                return Optional.empty();
            }
            return Optional.of(new UpstreamTlsConfig(Optional.empty(), Optional.empty(), List.of(), true,
                    Optional.empty()));
        }
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, UPSTREAM_KEYS, values.problems());
        Optional<String> sni = f.optional("sni").flatMap(n -> values.text(n, f.path("sni"), "a host name"));
        Optional<Path> ca = f.optional("ca").flatMap(n -> file(n, f.path("ca")));
        List<java.security.cert.X509Certificate> trusted = List.of();
        if (ca.isPresent()) {
            switch (PemFiles.trusted(ca.get())) {
                case PemFiles.Trusted.Unusable unusable -> values.problems().add(f.keyAt("ca"),
                        f.path("ca") + ": " + unusable.reason());
                case PemFiles.Trusted.Certificates certificates -> trusted = certificates.certificates();
            }
        }
        boolean verify = f.optional("verify").flatMap(n -> values.bool(n, f.path("verify"))).orElse(true);
        if (!verify) {
            values.problems().warn(f.keyAt("verify"), f.path("verify") + ": false accepts any certificate for any "
                    + "name, so anyone on the path to the backend can read and change its traffic; give the "
                    + "backend's CA in 'ca' instead");
            if (ca.isPresent()) {
                values.problems().add(f.keyAt("ca"), f.path("ca") + ": a CA bundle is only used to verify: "
                        + "remove 'ca' or 'verify: false'");
            }
        }
        Optional<CertificateConfig> client = Optional.empty();
        if (f.optional("cert").isPresent() || f.optional("key").isPresent()) {
            client = pair(f);
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        UpstreamTlsConfig config = new UpstreamTlsConfig(sni, ca, trusted, verify, client);
        try {
            dev.sluice.tls.ClientTls.context(trusted, verify, client.map(CertificateConfig::loaded).orElse(null));
        } catch (javax.net.ssl.SSLException | RuntimeException e) {
            values.invalid(node, path, "the TLS provider (" + ServerTls.provider() + ") cannot use this: "
                    + e.getMessage());
            return Optional.empty();
        }
        return Optional.of(config);
    }

    /** A {@code cert} and {@code key} pair, read and checked; refused at the {@code cert:} key. */
    private Optional<CertificateConfig> pair(Fields f) {
        Optional<Path> cert = f.required("cert").flatMap(n -> file(n, f.path("cert")));
        Optional<Path> key = f.required("key").flatMap(n -> file(n, f.path("key")));
        if (cert.isEmpty() || key.isEmpty()) {
            return Optional.empty();
        }
        Position at = f.keyAt("cert");
        switch (PemFiles.read(cert.get(), key.get(), Instant.now())) {
            case PemFiles.Read.Unusable unusable -> {
                values.problems().add(at, f.path("cert") + ": " + unusable.reason());
                return Optional.empty();
            }
            case PemFiles.Read.Usable usable -> {
                usable.warnings().forEach(w -> values.problems().warn(at, f.path("cert") + ": " + w));
                Optional<String> unsupported = unsupported(usable.certified());
                if (unsupported.isPresent()) {
                    values.problems().add(at, f.path("cert") + ": " + unsupported.get());
                    return Optional.empty();
                }
                return Optional.of(new CertificateConfig(cert.get(), key.get(), source + ":" + at, usable.certified()));
            }
        }
    }

    /** Why the TLS provider cannot serve this pair (a key type it lacks), if it cannot. */
    private static Optional<String> unsupported(CertifiedKey certified) {
        try {
            ServerTls.context(certified);
            return Optional.empty();
        } catch (javax.net.ssl.SSLException | RuntimeException e) {
            return Optional.of("the TLS provider (" + ServerTls.provider() + ") cannot serve this certificate and key: "
                    + e.getMessage());
        }
    }

    /** An absolute file path, as {@code admin.token_file}: a relative one would depend on where Sluice was started. */
    private Optional<Path> file(YamlNode node, String path) {
        return values.text(node, path, "a file path").flatMap(name -> {
            Path file = Path.of(name);
            if (!file.isAbsolute()) {
                values.invalid(node, path, "'" + name + "' must be an absolute path");
                return Optional.empty();
            }
            return Optional.of(file);
        });
    }
}
