package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import dev.sluice.upstream.NameResolver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clusters[].tls} on real sockets: Sluice speaks HTTPS to its backends, checks their
 * certificates against the config's CA and the name it asked for, presents its own certificate
 * to a backend that asks for one, and names a failed handshake {@code upstream_tls_failed}: a 502
 * that never reached the backend's application.
 */
class UpstreamTlsTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final TestCertificates CA = TestCertificates.authority();

    @TempDir
    static Path dir;
    private static Path caFile;

    @BeforeAll
    static void writeCa() throws Exception {
        caFile = CA.writeCa(dir.resolve("ca.pem"));
    }

    /** A backend serving HTTPS with a certificate for {@code names}; with {@code clientCa}, it asks for a client certificate from that CA. */
    private static TestBackend httpsBackend(TestCertificates clientCa, String... names) throws Exception {
        TestCertificates.Issued issued = CA.issue(names);
        SslContextBuilder builder = SslContextBuilder.forServer(issued.key(), issued.certificate());
        if (clientCa != null) {
            Path clientCaFile = clientCa.writeCa(dir.resolve("client-ca-" + System.nanoTime() + ".pem"));
            builder.trustManager(clientCaFile.toFile()).clientAuth(ClientAuth.REQUIRE);
        }
        SslContext context = builder.build();
        return TestBackend.builder().handler(BackendHandlers.fixed(200, "secret")).tls(context).start();
    }

    private static String config(String endpoint, String tls) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    tls: %s
                """.formatted(endpoint, tls);
    }

    private static RawResponse get(TestGateway gw) {
        try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
            return client.send("GET /x HTTP/1.1\r\nHost: shop.example\r\n\r\n").readResponse(T);
        }
    }

    private static void assertTlsFailed(RawResponse r, TestBackend backend) {
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.header("x-sluice-error")).isEqualTo("upstream_tls_failed");
        assertThat(backend.requestCount()).as("no request reached the backend's application").isZero();
    }

    @Test
    void anHttpsBackendIsReachedOverVerifiedTlsAndItsConnectionsAreReused() throws Exception {
        try (TestBackend backend = httpsBackend(null, "127.0.0.1");
             TestGateway gw = TestGateway.fromYaml(config(backend.authority(), "{ ca: " + caFile + " }"))) {
            for (int i = 0; i < 6; i++) {
                RawResponse r = get(gw);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.bodyString()).isEqualTo("secret");
            }
            assertThat(backend.requestCount()).isEqualTo(6);
            assertThat(backend.connectionsAccepted()).as("pooled TLS connections, at most one per event loop")
                    .isBetween(1L, 2L);
        }
    }

    @Test
    void aHostNameEndpointIsAskedForAndCheckedByItsOwnNameByDefault() throws Exception {
        InetAddress here = InetAddress.getByName("127.0.0.1");
        NameResolver loopback = host -> CompletableFuture.completedFuture(
                new NameResolver.Answer.Addresses(List.of(here), -1));
        try (TestBackend backend = httpsBackend(null, "backend.test");
             TestGateway gw = TestGateway.fromYaml(config("backend.test:" + backend.port(), "{ ca: " + caFile + " }"),
                     loopback)) {
            RawResponse r = get(gw);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyString()).isEqualTo("secret");
        }
    }

    @Test
    void aCertificateForAnotherNameIsRefusedAndTheConfiguredSniIsHonoured() throws Exception {
        try (TestBackend backend = httpsBackend(null, "api.internal")) {
            try (TestGateway gw = TestGateway.fromYaml(config(backend.authority(), "{ ca: " + caFile + " }"))) {
                // Asked for 127.0.0.1, the certificate names api.internal only.
                assertTlsFailed(get(gw), backend);
                Await.until(T, () -> gw.accessLogLines().stream()
                        .anyMatch(l -> l.contains("\"failure\":\"upstream_tls_failed\"")), "the access log names it");
            }
            try (TestGateway gw = TestGateway.fromYaml(config(backend.authority(),
                    "{ ca: " + caFile + ", sni: api.internal }"))) {
                assertThat(get(gw).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aBackendWhoseCaIsNotTrustedIsRefusedUnlessVerificationIsTurnedOff() throws Exception {
        try (TestBackend backend = httpsBackend(null, "127.0.0.1")) {
            // No ca: the JDK's trusted CAs, which do not include the test CA.
            try (TestGateway gw = TestGateway.fromYaml(config(backend.authority(), "true"))) {
                assertTlsFailed(get(gw), backend);
            }
            String unverified = config(backend.authority(), "{ verify: false }");
            assertThat(ConfigLoader.parseWithWarnings(unverified, "<test>").warnings())
                    .anySatisfy(w -> assertThat(w.toString()).contains("clusters[0].tls.verify: false accepts any certificate"));
            try (TestGateway gw = TestGateway.fromYaml(unverified)) {
                assertThat(get(gw).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aBackendAskingForAClientCertificateGetsTheConfiguredOne() throws Exception {
        TestCertificates clients = TestCertificates.authority();
        TestCertificates.Issued sluice = clients.issue("sluice.internal");
        Path cert = dir.resolve("client.pem");
        Path key = dir.resolve("client.key");
        sluice.writeTo(cert, key);
        try (TestBackend backend = httpsBackend(clients, "127.0.0.1")) {
            try (TestGateway gw = TestGateway.fromYaml(config(backend.authority(), "{ ca: " + caFile + " }"))) {
                assertTlsFailed(get(gw), backend);
            }
            try (TestGateway gw = TestGateway.fromYaml(config(backend.authority(),
                    "{ ca: " + caFile + ", cert: " + cert + ", key: " + key + " }"))) {
                assertThat(get(gw).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aBadTlsSectionIsRefusedAtItsKey() throws Exception {
        assertThat(problems(config("127.0.0.1:9001", "{ ca: " + dir.resolve("missing.pem") + " }")))
                .containsExactly("<test>:9:12: clusters[0].tls.ca: cannot read '" + dir.resolve("missing.pem")
                        + "': file not found");
        assertThat(problems(config("127.0.0.1:9001", "{ ca: relative.pem }")))
                .singleElement().asString().contains("clusters[0].tls.ca", "must be an absolute path");
        assertThat(problems(config("127.0.0.1:9001", "{ verify: false, ca: " + caFile + " }")))
                .singleElement().asString().contains("a CA bundle is only used to verify");
        assertThat(problems(config("127.0.0.1:9001", "{ sni: x, verfiy: true }")))
                .singleElement().asString().contains("verfiy");
    }

    private static List<String> problems(String yaml) {
        try {
            ConfigLoader.parse(yaml, "<test>");
            throw new AssertionError("accepted: " + yaml);
        } catch (ConfigException e) {
            return e.problems().stream().map(Object::toString).toList();
        }
    }

}
