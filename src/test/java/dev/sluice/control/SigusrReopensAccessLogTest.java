package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Log rotation as logrotate does it: rename the file, send SIGUSR1, and new lines go to a new file. */
class SigusrReopensAccessLogTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void afterTheAccessLogIsRenamedSigusr1MakesNewRequestsLandInANewFileAtTheConfiguredPath() throws Exception {
        Path log = dir.resolve("logs/access.log");
        Path rotated = dir.resolve("logs/access.log.1");
        Path file = dir.resolve("sluice.yaml");
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(file, backend.childConfig("/").replace("access_log: off", "access_log: { path: " + log + " }"));
            try (ChildSluice sluice = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir",
                    dir.resolve("state").toString())) {
                InetSocketAddress listener = sluice.awaitStarted(START);
                HttpClient client = HttpClient.newHttpClient();
                get(client, listener, "/before-1");
                get(client, listener, "/before-2");
                Await.until(AWAIT, () -> lines(log).size() == 2, () -> "two lines in " + log + ": " + lines(log));

                Files.move(log, rotated);
                sluice.signal("USR1");
                Await.until(AWAIT, () -> Files.exists(log), "the access log created again at its path");
                get(client, listener, "/after");
                Await.until(AWAIT, () -> lines(log).size() == 1, () -> "a line in the new " + log + ": " + lines(log));

                assertThat(lines(rotated)).hasSize(2).allSatisfy(l -> assertThat(l).contains("\"path\":\"/before-"));
                assertThat(lines(log)).singleElement().satisfies(l -> assertThat(l).contains("\"path\":\"/after\""));
                sluice.terminate();
                assertThat(sluice.awaitExit(AWAIT)).isZero();
            }
        }
    }

    private static void get(HttpClient client, InetSocketAddress listener, String path) throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + listener.getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
    }

    private static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
