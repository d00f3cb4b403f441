package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code listeners[].tls}: the certificate files are read at load, and one that cannot serve
 * is refused at its {@code cert:} key with the reason; an expired one is a warning.
 */
class TlsConfigTest {
    @TempDir
    Path dir;
    TestCertificates ca;

    @BeforeEach
    void certificates() throws Exception {
        ca = TestCertificates.authority();
        ca.issue("example.test", "www.example.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        ca.issue("other.test").writeTo(dir.resolve("other.pem"), dir.resolve("other.key"));
    }

    private String config(String tls) {
        return """
                listeners:
                  - address: 127.0.0.1:8443
                    tls: %s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """.formatted(tls);
    }

    private String pair(String cert, String key) {
        return config("{ cert: " + dir.resolve(cert) + ", key: " + dir.resolve(key) + " }");
    }

    @Test
    void aCertificateAndItsKeyAreReadWithTheirNamesAndDefaults() throws Exception {
        ListenerConfig listener = ConfigLoader.parse(pair("cert.pem", "key.pem"), "x.yaml").listeners().get(0);

        TlsConfig tls = listener.tls().orElseThrow();
        assertThat(tls.certificates()).singleElement().satisfies(c -> {
            assertThat(c.cert()).isEqualTo(dir.resolve("cert.pem"));
            assertThat(c.location()).isEqualTo("x.yaml:3:12");
            assertThat(c.loaded().names()).containsExactly("example.test", "www.example.test");
        });
        assertThat(tls.handshakeTimeout()).isEqualTo(TlsConfig.DEFAULT_HANDSHAKE_TIMEOUT);
        assertThat(tls.watchInterval()).isEqualTo(TlsConfig.DEFAULT_WATCH_INTERVAL);
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefusedAtTheCertKey() {
        assertThat(problems(pair("cert.pem", "other.key"))).containsExactly("3:12: listeners[0].tls.cert: the private key in '"
                + dir.resolve("other.key") + "' does not belong to the certificate in '" + dir.resolve("cert.pem")
                + "' (for example.test, www.example.test): a renewal may have replaced one file and not yet the other");
    }

    @Test
    void aMissingFileAndAFileWithoutPemAreRefusedWithTheirReason() throws Exception {
        assertThat(problems(pair("missing.pem", "key.pem"))).containsExactly("3:12: listeners[0].tls.cert: cannot read '"
                + dir.resolve("missing.pem") + "': file not found");
        Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
        assertThat(problems(pair("garbage.pem", "key.pem"))).containsExactly("3:12: listeners[0].tls.cert: '"
                + dir.resolve("garbage.pem") + "' holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block)");
        assertThat(problems(pair("cert.pem", "cert.pem"))).singleElement().asString()
                .contains("holds no PEM private key");
    }

    @Test
    void pathsMustBeAbsoluteAndAListenerNeedsACertificate() {
        assertThat(problems(config("{ cert: cert.pem, key: key.pem }"))).containsExactly(
                "3:18: listeners[0].tls.cert: 'cert.pem' must be an absolute path",
                "3:33: listeners[0].tls.key: 'key.pem' must be an absolute path");
        assertThat(problems(config("{ handshake_timeout: 5s }"))).singleElement().asString()
                .contains("a TLS listener needs a certificate");
        assertThat(problems(config("{ cert: " + dir.resolve("cert.pem") + " }"))).singleElement().asString()
                .contains("missing required key 'key'");
    }

    @Test
    void anExpiredCertificateLoadsWithAWarningAtItsCertKey() throws Exception {
        Instant now = Instant.now();
        ca.issue(now.minus(30, ChronoUnit.DAYS), now.minus(1, ChronoUnit.DAYS), "old.test")
                .writeTo(dir.resolve("old.pem"), dir.resolve("old.key"));

        List<ConfigWarning> warnings = ConfigLoader.parseWithWarnings(pair("old.pem", "old.key"), "x.yaml").warnings();

        assertThat(warnings).singleElement().satisfies(w -> {
            assertThat(w.line()).isEqualTo(3);
            assertThat(w.message()).startsWith("listeners[0].tls.cert: the certificate in '" + dir.resolve("old.pem")
                    + "' (for old.test) expired at ");
        });
    }

    @Test
    void moreCertificatesFollowTheFirstInOrder() throws Exception {
        String yaml = config("{ cert: %1$s/cert.pem, key: %1$s/key.pem, certificates: [ { cert: %1$s/other.pem, key: %1$s/other.key } ] }"
                .formatted(dir));

        TlsConfig tls = ConfigLoader.parse(yaml, "x.yaml").listeners().get(0).tls().orElseThrow();

        assertThat(tls.certificates()).extracting(c -> c.loaded().names().get(0)).containsExactly("example.test", "other.test");
    }

    @Test
    void redirectHttpsIsACleartextListenersAndTakesTrueOrAPort() throws Exception {
        String cleartext = config("{ cert: %1$s/cert.pem, key: %1$s/key.pem }".formatted(dir)) .replace(
                "routes:", "  - address: 127.0.0.1:8080\n    redirect_https: true\n  - address: 127.0.0.1:8081\n"
                        + "    redirect_https: 8443\nroutes:");
        List<ListenerConfig> listeners = ConfigLoader.parse(cleartext, "x.yaml").listeners();
        assertThat(listeners).extracting(l -> l.redirectHttps().orElse(-1)).containsExactly(-1, 443, 8443);

        assertThat(problems(config("{ cert: %1$s/cert.pem, key: %1$s/key.pem }".formatted(dir))
                .replace("    tls:", "    redirect_https: true\n    tls:"))).containsExactly("3:21: listeners[0].redirect_https: "
                + "a TLS listener cannot redirect to HTTPS: it would send its clients to itself; give redirect_https to "
                + "the cleartext listener (port 80)");
    }
}
