package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Ports;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/sluice} with the packaged jar, as a user runs it (an integration test: it needs the
 * jar, so it runs after {@code package}). Each test has a checkout of its own (the script and the
 * jar in a temporary folder), so the start-up archives it makes are its own.
 *
 * <p>What it proves: a start-up archive (AOT cache on JDK 25+, CDS archive before) is kept only
 * from a run that served traffic and exited cleanly; help and failed starts leave none; the
 * recording prints nothing on the terminal; later starts map the archive.
 */
class BinSluiceIT {
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path root;

    @BeforeEach
    void checkout() throws IOException {
        Path project = Path.of("").toAbsolutePath();
        Path jar = project.resolve("target/sluice.jar");
        assertThat(jar).as("the packaged jar (run through `mvnw verify`)").isRegularFile();
        Files.createDirectories(root.resolve("bin/lib"));
        Files.createDirectories(root.resolve("target"));
        for (String file : List.of("bin/sluice", "bin/lib/java.sh", "bin/lib/jvm-options.sh")) {
            Files.copy(project.resolve(file), root.resolve(file), StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.copy(jar, root.resolve("target/sluice.jar"), StandardCopyOption.COPY_ATTRIBUTES);
    }

    /** What a finished {@code bin/sluice ...} printed and returned. */
    record Ran(int exit, String out, String err) {}

    private Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(root.resolve("bin/sluice").toString()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).directory(root.toFile()).start();
    }

    private Ran sluice(String... args) throws Exception {
        Process p = start(args);
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> Ports.printed(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> Ports.printed(p.getErrorStream()));
        assertThat(p.waitFor(T.toSeconds(), TimeUnit.SECONDS)).as("bin/sluice " + String.join(" ", args)).isTrue();
        return new Ran(p.exitValue(), out.get(), err.get());
    }

    /** The start-up archives in the checkout's target/, and the marks of good recordings. */
    private List<String> archives() {
        try (Stream<Path> files = Files.list(root.resolve("target"))) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".aot") || n.endsWith(".jsa") || n.endsWith(".trained"))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Path config(int port, String backend) throws IOException {
        Path file = root.resolve("sluice.yaml");
        Files.writeString(file, """
                listeners:
                  - address: 127.0.0.1:%d
                routes:
                  - name: app
                    match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                drain: { delay: 0s, timeout: 5s }
                """.formatted(port, backend));
        return file;
    }

    @Test
    void helpAndFailedStartsLeaveNoArchive() throws Exception {
        Ran help = sluice("run", "--help");
        Ran invalid = sluice("run", "-c", Files.writeString(root.resolve("bad.yaml"), "listeners: []\n").toString());
        Ran busy;
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            busy = sluice("run", "-c", config(taken.getLocalPort(), "127.0.0.1:9").toString());
        }

        assertThat(help.exit()).isZero();
        assertThat(invalid.exit()).isEqualTo(1);
        assertThat(busy.exit()).isEqualTo(1);
        assertThat(busy.err()).contains("address already in use");
        assertThat(archives()).as("nothing a later start would map").isEmpty();
        for (Ran ran : List.of(help, invalid, busy)) {
            assertThat(ran.out() + ran.err()).doesNotContainIgnoringCase("AOT").doesNotContain("CDS");
        }
    }

    @Test
    void aRunThatServedAndExitedCleanlyIsRecordedQuietlyAndLaterStartsMapIt() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200))) {
            int port = Ports.freeLoopbackPort();
            Path config = config(port, backend.authority());

            Ran recorded = serveOneRequestAndStop(port, config);
            assertThat(recorded.exit()).as(recorded.err()).isZero();
            assertThat(recorded.out() + recorded.err()).as("the recording prints nothing")
                    .doesNotContainIgnoringCase("AOT").doesNotContain("CDS");

            // The next start turns the recording into the archive (an AOT cache is assembled in the background).
            Ran next = serveOneRequestAndStop(port, config);
            assertThat(next.exit()).isZero();
            Await.until(T, () -> archives().stream().anyMatch(n -> n.endsWith(".aot") || n.endsWith(".jsa")),
                    "the archive is made from the good recording");

            Process third = start("run", "-c", config.toString());
            try {
                // bin/sluice execs the JVM: the same process, once its command is java.
                Await.until(T, () -> third.info().command().orElse("").endsWith("/java"), "the JVM started");
                assertThat(String.join(" ", third.info().arguments().get()))
                        .containsAnyOf("-XX:AOTCache=", "-XX:SharedArchiveFile=");
            } finally {
                third.destroy();
                third.waitFor(T.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    private Ran serveOneRequestAndStop(int port, Path config) throws Exception {
        Process p = start("run", "-c", config.toString());
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> Ports.printed(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> Ports.printed(p.getErrorStream()));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + T.toNanos();
        while (true) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
                assertThat(r.statusCode()).isEqualTo(200);
                break;
            } catch (IOException notYet) {
                assertThat(p.isAlive()).as("bin/sluice is still starting").isTrue();
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                Thread.sleep(50);
            }
        }
        p.destroy();
        assertThat(p.waitFor(T.toSeconds(), TimeUnit.SECONDS)).isTrue();
        return new Ran(p.exitValue(), out.get(), err.get());
    }

}
