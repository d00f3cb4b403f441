package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The default state directory belongs to one config file, and one process: two files in one
 * folder keep two histories, so a rollback on one can never apply the other's config.
 */
class StateDirectoryTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void aRollbackNeverAppliesTheConfigOfAnotherFileThatRanInTheSameFolder() throws Exception {
        Path other = dir.resolve("other.yaml");
        Path min = dir.resolve("min.yaml");
        try (CountingBackend otherBackend = new CountingBackend("other");
             CountingBackend minBackend = new CountingBackend("min")) {
            Files.writeString(other, otherBackend.childConfig("/"));
            Files.writeString(min, minBackend.childConfig("/"));
            try (ChildSluice first = ChildSluice.start(dir, "run", "-c", other.toString())) {
                first.awaitStarted(START);
                first.close(); // killed, as a crash would: the OS releases its lock
                first.awaitExit(AWAIT);
            }
            try (ChildSluice sluice = ChildSluice.start(dir, "run", "-c", min.toString())) {
                InetSocketAddress listener = sluice.awaitStarted(START);

                JsonNode versions = sluice.admin().get("/config/versions").json();
                AdminHttp.Answer rollback = sluice.admin().post("/rollback?to=1");

                assertThat(sources(versions)).containsExactly("file " + min + " (start)");
                assertThat(rollback.status()).as(rollback.body()).isEqualTo(200);
                assertThat(rollback.json().path("unchanged").asBoolean()).as("version 1 is min.yaml's, running").isTrue();
                assertThat(get(listener, "/x").bodyString()).isEqualTo("min");
                assertThat(otherBackend.requests()).isZero();
            }
        }
    }

    @Test
    void twoConfigFilesInOneFolderRunSideBySideAndTheCommandsFindEachByItsFile() throws Exception {
        Path a = dir.resolve("a.yaml");
        Path b = dir.resolve("b.yaml");
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(a, backend.childConfig("/"));
            Files.writeString(b, backend.childConfig("/"));
            try (ChildSluice sluiceA = ChildSluice.start(dir, "run", "-c", a.toString());
                 ChildSluice sluiceB = ChildSluice.start(dir, "run", "-c", b.toString())) {
                sluiceA.awaitStarted(START);
                sluiceB.awaitStarted(START);
                AdminHttp.Answer pushed = sluiceB.admin().post("/config", backend.childConfig("/b/"));
                assertThat(pushed.status()).as(pushed.body()).isEqualTo(200);

                StringWriter err = new StringWriter();
                int rolledBack = run(new StringWriter(), err, "rollback", "-c", b.toString(), "--to", "1");
                StringWriter listing = new StringWriter();
                int listed = run(listing, err, "versions", "-c", b.toString());

                assertThat(rolledBack).as(err.toString()).isZero();
                assertThat(listed).as(err.toString()).isZero();
                assertThat(listing.toString()).contains("rollback to version 1 (as asked) *").doesNotContain(a.toString());
                assertThat(sources(sluiceB.admin().get("/config/versions").json())).containsExactly(
                        "file " + b + " (start)", "POST /config", "rollback to version 1 (as asked)");
                assertThat(sources(sluiceA.admin().get("/config/versions").json()))
                        .as("a rollback in b touches nothing of a").containsExactly("file " + a + " (start)");
            }
        }
    }

    @Test
    void aSecondProcessOnTheSameStateDirectoryExitsNamingTheHoldersPid() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(file, backend.childConfig("/"));
            try (ChildSluice first = ChildSluice.start(dir, "run", "-c", file.toString())) {
                first.awaitStarted(START);
                try (ChildSluice second = ChildSluice.start(dir, "run", "-c", file.toString())) {

                    assertThat(second.awaitExit(START)).isEqualTo(1);
                    assertThat(second.stderrText()).contains("sluice: state directory "
                            + dir.toAbsolutePath().normalize().resolve(".sluice.yaml.sluice-state")
                            + " is in use by another running sluice (pid " + first.pid() + ", admin ");
                }
                assertThat(first.admin().readyStatus()).as("the first one keeps serving").isEqualTo(200);
            }
        }
    }

    private static List<String> sources(JsonNode versions) {
        List<String> list = new ArrayList<>();
        versions.path("versions").forEach(v -> list.add(v.path("source").asText()));
        return list;
    }

    private static RawResponse get(InetSocketAddress listener, String path) {
        try (RawHttpClient client = RawHttpClient.connect(listener)) {
            client.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
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
