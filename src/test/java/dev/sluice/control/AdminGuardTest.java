package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The admin API guarded, on real sockets: a page of another site cannot make it change anything,
 * and one bound beyond loopback answers only requests that present its token.
 */
class AdminGuardTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);
    private static final String TOKEN = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path dir;

    private static String config(CountingBackend backend, String admin) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                admin:
                %s
                access_log: off
                """.formatted(backend.address(), admin.indent(2).stripTrailing());
    }

    @Test
    void aCrossOriginPostIsRefusedAndNothingHappens() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "address: 127.0.0.1:0"), dir, Duration.ofMinutes(5))) {
            int port = sluice.instance().adminAddress().orElseThrow().getPort();

            RawResponse fromEvil = send(port, "POST /drain", "Host: 127.0.0.1:" + port, "Origin: http://evil.example",
                    "X-Sluice-Admin: 1");
            RawResponse noHeader = send(port, "POST /drain", "Host: 127.0.0.1:" + port);
            // A page whose name was re-pointed at 127.0.0.1 (DNS rebinding) is same-origin to the browser.
            RawResponse rebound = send(port, "POST /drain", "Host: evil.example:" + port,
                    "Origin: http://evil.example:" + port, "X-Sluice-Admin: 1");

            assertThat(fromEvil.status()).isEqualTo(403);
            assertThat(fromEvil.bodyString()).contains("http://evil.example");
            assertThat(noHeader.status()).isEqualTo(403);
            assertThat(noHeader.bodyString()).contains("X-Sluice-Admin: 1");
            assertThat(rebound.status()).isEqualTo(403);
            assertThat(sluice.admin().readyStatus()).as("no drain began").isEqualTo(200);
            assertThat(sluice.instance().stopped()).isNotDone();
            assertThat(send(port, "GET /status", "Host: 127.0.0.1:" + port, "Origin: http://evil.example").status())
                    .as("reads stay readable").isEqualTo(200);
        }
    }

    @Test
    void aPostWithTheFieldFromNoOriginOrItsOwnOriginIsServed() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "address: 127.0.0.1:0"), dir, Duration.ofMinutes(5))) {
            int port = sluice.instance().adminAddress().orElseThrow().getPort();

            RawResponse script = send(port, "POST /reload", "Host: 127.0.0.1:" + port, "X-Sluice-Admin: 1");
            RawResponse ownPage = send(port, "POST /reload", "Host: localhost:" + port,
                    "Origin: http://localhost:" + port, "X-Sluice-Admin: 1");
            RawResponse drain = send(port, "POST /drain", "Host: 127.0.0.1:" + port, "X-Sluice-Admin: 1");

            assertThat(script.status()).as(script.bodyString()).isEqualTo(200);
            assertThat(script.bodyString()).contains("\"unchanged\" : true");
            assertThat(ownPage.status()).as(ownPage.bodyString()).isEqualTo(200);
            assertThat(drain.status()).isEqualTo(202);
            assertThat(sluice.admin().readyStatus()).as("the drain began").isEqualTo(503);
        }
    }

    @Test
    void withATokenOnlyRequestsPresentingItAreServedAndTheCommandLineReadsItFromTheConfig() throws Exception {
        Path tokenFile = dir.resolve("admin-token");
        Files.writeString(tokenFile, TOKEN + "\n");
        String admin = "address: 0.0.0.0:0\ntoken_file: " + tokenFile;
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, admin), dir, Duration.ofMinutes(5))) {
            int port = sluice.instance().adminAddress().orElseThrow().getPort();
            String host = "Host: 127.0.0.1:" + port;

            RawResponse none = send(port, "GET /status", host);
            RawResponse wrong = send(port, "GET /status", host, "Authorization: Bearer " + TOKEN.replace('0', '1'));
            RawResponse right = send(port, "GET /status", host, "Authorization: Bearer " + TOKEN);
            RawResponse rightWithoutField = send(port, "POST /reload", host, "Authorization: Bearer " + TOKEN);
            RawResponse probe = send(port, "GET /ready", host);

            assertThat(none.status()).isEqualTo(401);
            assertThat(none.header("WWW-Authenticate")).startsWith("Bearer");
            assertThat(wrong.status()).isEqualTo(401);
            assertThat(right.status()).isEqualTo(200);
            assertThat(rightWithoutField.status()).as("the token does not replace the cross-site guard").isEqualTo(403);
            assertThat(probe.status()).as("probes need no token").isEqualTo(200);
            assertThat(sluice.instance().stopped()).isNotDone();

            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            String at = "127.0.0.1:" + port;
            assertThat(run(out, err, "versions", "--admin", at, "-c", sluice.configFile().toString()))
                    .as(err.toString()).isZero();
            assertThat(out.toString()).contains("VERSION").contains("(start)");
            assertThat(run(out, err, "rollback", "--admin", at, "--token-file", tokenFile.toString()))
                    .as(err.toString()).isEqualTo(1);
            assertThat(err.toString()).as("reached, and refused for want of a version").contains("no earlier version to roll back to");

            StringWriter denied = new StringWriter();
            assertThat(run(new StringWriter(), denied, "versions", "--admin", at)).isEqualTo(2);
            assertThat(denied.toString()).contains("wants its token").contains("--token-file");

            Path newTokenFile = dir.resolve("admin-token-2");
            Files.writeString(newTokenFile, TOKEN.replace('0', '2') + "\n");
            sluice.writeConfig(config(backend, "address: 0.0.0.0:0\ntoken_file: " + newTokenFile));
            RawResponse reload = send(port, "POST /reload", host, "Authorization: Bearer " + TOKEN, "X-Sluice-Admin: 1");
            assertThat(reload.bodyString()).as("a changed token is read at the next restart, and says so")
                    .contains("the admin token change takes effect at the next restart");
            assertThat(send(port, "GET /status", host, "Authorization: Bearer " + TOKEN).status()).isEqualTo(200);
        }
    }

    @Test
    void aNonLoopbackAdminWithoutATokenIsRefusedAtItsLineAndColumn() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(file, config(backend, "address: 0.0.0.0:9901"));
            StringWriter err = new StringWriter();

            int exit = run(new StringWriter(), err, "check", "-c", file.toString());

            assertThat(exit).isEqualTo(1);
            assertThat(err.toString()).startsWith(file + ":10:12: admin.address: '0.0.0.0:9901' is not a loopback "
                    + "address, so the admin API needs a token");
        }
    }

    /** One request on its own connection, with exactly these fields. */
    private static RawResponse send(int port, String requestLine, String... fields) {
        try (RawHttpClient client = RawHttpClient.connect(new InetSocketAddress("127.0.0.1", port))) {
            boolean post = requestLine.startsWith("POST");
            client.send(requestLine + " HTTP/1.1\r\n" + String.join("\r\n", fields) + "\r\n"
                    + (post ? "Content-Length: 0\r\n" : "") + "Connection: close\r\n\r\n");
            return client.readFinalResponse(AWAIT);
        }
    }

    /** {@code sluice ARGS} in this JVM, as an operator types it; what it prints is captured. */
    private static int run(StringWriter out, StringWriter err, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        try {
            return new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            out.write(o.toString());
            err.write(e.toString());
        }
    }
}
