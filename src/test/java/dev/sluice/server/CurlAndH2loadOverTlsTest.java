package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real clients of issue 17 against a TLS listener, as a user runs them: {@code curl --http2}
 * negotiates {@code h2} by ALPN (offering {@code h2} then {@code http/1.1}, as browsers do),
 * {@code curl --http1.1} offers {@code http/1.1} alone and gets it, a listener with
 * {@code http2: false} answers a client offering both with HTTP/1.1, and {@code h2load} runs many
 * streams at once over h2. Each checks the negotiated protocol, the answer the backend gave, and
 * what the backend was told. curl verifies the certificate against the test CA (no {@code -k}).
 *
 * <p>Never skipped: {@code bin/test} installs curl and h2load (nghttp2-client) where it can, and a
 * machine without them fails here saying so.
 */
class CurlAndH2loadOverTlsTest {
    private static final Duration T = Duration.ofSeconds(30);
    private static final String NAME = "shop.test";

    @TempDir
    static Path dir;
    static Path caFile;
    static TestBackend backend;
    static TestGateway gateway;
    static TestGateway http1Only;

    @BeforeAll
    static void start() throws Exception {
        TestCertificates ca = TestCertificates.authority();
        ca.issue(NAME).writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        caFile = ca.writeCa(dir.resolve("ca.pem"));
        backend = TestBackend.start(BackendHandlers.echo());
        String config = """
                listeners:
                  - address: 127.0.0.1:0
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }%3$s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                    concurrency: { limit: off }   # h2load's burst of streams is what is tested, not the adaptive limit
                """;
        gateway = TestGateway.fromYaml(config.formatted(dir, backend.authority(), ""));
        http1Only = TestGateway.fromYaml(config.formatted(dir, backend.authority(), "\n    http2: false"));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        http1Only.close();
        backend.close();
    }

    @Test
    void curlWithHttp2GetsH2ByAlpnAndTheBackendsAnswer() throws Exception {
        Answer answer = curl(gateway, "--http2", "/orders?id=7");

        assertThat(answer.httpVersion()).as(answer.toString()).isEqualTo("2");
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).contains("\"method\":\"GET\"").contains("\"uri\":\"/orders?id=7\"")
                .contains("\"version\":\"HTTP/1.1\"");
        assertThat(backend.lastRequest().header("x-forwarded-proto")).isEqualTo("https");
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/orders?id=7\"")
                        .contains("\"protocol\":\"HTTP/2.0\"").contains("\"status\":200")));
    }

    @Test
    void curlWithHttp11OffersOnlyHttp11AndGetsIt() throws Exception {
        Answer answer = curl(gateway, "--http1.1", "/one");

        assertThat(answer.httpVersion()).as(answer.toString()).isEqualTo("1.1");
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).contains("\"uri\":\"/one\"");
        assertThat(backend.lastRequest().header("x-forwarded-proto")).isEqualTo("https");
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/one\"")
                        .contains("\"protocol\":\"HTTP/1.1\"").contains("\"status\":200")));
    }

    @Test
    void aListenerWithoutHttp2AnswersAClientOfferingBothWithHttp11() throws Exception {
        Answer answer = curl(http1Only, "--http2", "/fallback");

        assertThat(answer.httpVersion()).as(answer.toString()).isEqualTo("1.1");
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body()).contains("\"uri\":\"/fallback\"");
    }

    @Test
    void h2loadRunsManyStreamsAtOnceOverH2AndEveryOneSucceeds() throws Exception {
        int before = backend.requestCount();
        Run run = run(List.of(tool("h2load", "nghttp2-client"), "-n", "400", "-c", "4", "-m", "20",
                "https://127.0.0.1:" + gateway.address().getPort() + "/load"));

        assertThat(run.exit()).as(run.output()).isZero();
        assertThat(run.output()).contains("Application protocol: h2")
                .contains("requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored, 0 timeout")
                .contains("status codes: 400 2xx, 0 3xx, 0 4xx, 0 5xx");
        assertThat(backend.requestCount() - before).isEqualTo(400);
    }

    /** What curl printed: the negotiated HTTP version ({@code %{http_version}}), the status, the body. */
    record Answer(String httpVersion, int status, String body, String output) {}

    private static Answer curl(TestGateway target, String protocol, String path) throws Exception {
        int port = target.address().getPort();
        File body = Files.createTempFile(dir, "body", ".txt").toFile();
        // --resolve: the certificate names shop.test, so curl connects to that name (sending it as
        // SNI and checking it against the certificate) at Sluice's address.
        Run run = run(List.of(tool("curl", "curl"), "--silent", "--show-error", protocol, "--cacert",
                caFile.toString(), "--resolve", NAME + ":" + port + ":127.0.0.1", "--output", body.getPath(),
                "--write-out", "%{http_version} %{http_code}", "https://" + NAME + ":" + port + path));
        assertThat(run.exit()).as("curl " + protocol + ": " + run.output()).isZero();
        String[] written = run.output().trim().split(" ");
        assertThat(written).as(run.output()).hasSize(2);
        return new Answer(written[0], Integer.parseInt(written[1]),
                Files.readString(body.toPath(), StandardCharsets.UTF_8), run.output());
    }

    /** The tool's path; a machine without it fails saying which Debian package brings it. */
    private static String tool(String name, String debianPackage) {
        for (String directory : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            Path candidate = Path.of(directory, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new AssertionError(name + " is not installed: Debian's package " + debianPackage
                + " (bin/test installs it when run as root)");
    }

    record Run(int exit, String output) {}

    private static Run run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        process.getOutputStream().close();
        if (!process.waitFor(T.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command.get(0) + " did not finish within " + T);
        }
        return new Run(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
