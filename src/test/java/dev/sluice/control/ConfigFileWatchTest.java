package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.Instance;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run --watch-config} on a config file laid out as a Kubernetes ConfigMap volume, changed
 * the way the kubelet changes it: a changed ConfigMap is served without a restart and without a
 * failed request, and a broken one is refused while the running config keeps serving.
 */
class ConfigFileWatchTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);
    private static final Duration NEVER = Duration.ofDays(1);

    @TempDir
    Path dir;

    private static String answering(String body) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    respond: { body: "%s" }
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                """.formatted(body);
    }

    @Test
    void aConfigMapUpdateIsServedWithoutARestartAndABrokenOneIsRefusedWhileTrafficFlows() throws Exception {
        ConfigMapVolume volume = new ConfigMapVolume(dir.resolve("config"));
        volume.publish(answering("one"));
        try (Instance sluice = start(volume.file())) {
            sluice.watchConfigFile(Duration.ofMillis(20));
            InetSocketAddress listener = listener(sluice);
            AdminHttp admin = new AdminHttp(sluice.adminAddress().orElseThrow());
            assertThat(body(listener)).isEqualTo("one");
            SteadyLoad load = SteadyLoad.start(listener, 4, "/");

            volume.publish(answering("two"));
            Await.until(AWAIT, () -> body(listener).equals("two"), "the second ConfigMap served");

            volume.publish(answering("three").replace("respond:", "cluster: app\n    respond:"));
            Await.until(AWAIT, () -> admin.get("/config/versions").json().path("refused").size() == 1,
                    "the broken ConfigMap refused");
            assertThat(body(listener)).isEqualTo("two");

            volume.publish(answering("four"));
            Await.until(AWAIT, () -> body(listener).equals("four"), "the fourth ConfigMap served");
            long served = load.responses();
            Await.until(AWAIT, () -> load.responses() > served + 50, "traffic on the fourth");
            load.stop();

            assertThat(load.failures()).isEmpty();
            assertThat(load.non200()).isEmpty();
            // The new snapshot serves a moment before its version is recorded.
            Await.until(AWAIT, () -> admin.get("/config/versions").json().path("current").asInt() == 3,
                    "the fourth ConfigMap recorded as version 3");
            JsonNode versions = admin.get("/config/versions").json();
            assertThat(versions.path("versions").get(1).path("source").asText())
                    .isEqualTo("file " + volume.file() + " (--watch-config: its content changed)");
            assertThat(versions.path("refused").get(0).path("errors").get(0).asText())
                    .startsWith(volume.file() + ":6:5: routes[0]: 'cluster' and 'respond' together; ")
                    .endsWith(": choose one");
            assertThat(volume.folders()).as("the kubelet's old folders are gone; the path read never changed").isEqualTo(1);
        }
    }

    @Test
    void aLookReloadsOnlyWhenTheFileChangedSoAPushedConfigStaysUntilItDoes() throws Exception {
        ConfigMapVolume volume = new ConfigMapVolume(dir.resolve("config"));
        volume.publish(answering("one"));
        try (Instance sluice = start(volume.file())) {
            ConfigFileWatch watch = sluice.watchConfigFile(NEVER);
            InetSocketAddress listener = listener(sluice);
            AdminHttp admin = new AdminHttp(sluice.adminAddress().orElseThrow());

            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.UNCHANGED);
            assertThat(admin.post("/config", answering("pushed")).status()).isEqualTo(200);
            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.UNCHANGED);
            assertThat(body(listener)).isEqualTo("pushed");

            volume.publish(answering("two").replace("respond:", "cluster: app\n    respond:"));
            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.RELOADED);
            assertThat(watch.look()).as("a refused file is not tried again until it changes")
                    .isEqualTo(ConfigFileWatch.Look.UNCHANGED);
            assertThat(admin.get("/config/versions").json().path("refused")).hasSize(1);
            assertThat(body(listener)).isEqualTo("pushed");

            volume.remove();
            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.UNREADABLE);
            assertThat(body(listener)).isEqualTo("pushed");

            volume.publish(answering("three"));
            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.RELOADED);
            assertThat(body(listener)).isEqualTo("three");
        }
    }

    @Test
    void aPlainFileRewrittenInPlaceIsSeenToo() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, answering("one"));
        try (Instance sluice = start(file)) {
            ConfigFileWatch watch = sluice.watchConfigFile(NEVER);

            Files.writeString(file, answering("two"));

            assertThat(watch.look()).isEqualTo(ConfigFileWatch.Look.RELOADED);
            assertThat(body(listener(sluice))).isEqualTo("two");
        }
    }

    private Instance start(Path file) throws Exception {
        String text = ConfigLoader.read(file);
        return Instance.start(ConfigLoader.parseWithWarnings(text, file.toString()).config(),
                new Instance.Startup(text, "file " + file + " (start)", Optional.of(file),
                        ConfigStore.open(dir.resolve("state")), LONG_BAKE, Optional.empty()));
    }

    private static InetSocketAddress listener(Instance sluice) {
        return new InetSocketAddress("127.0.0.1", sluice.listenerAddresses().get(0).getPort());
    }

    private static String body(InetSocketAddress listener) {
        try (RawHttpClient client = RawHttpClient.connect(listener)) {
            return client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n").readResponse(AWAIT).bodyString();
        }
    }

    /**
     * A ConfigMap volume as the kubelet keeps it (pkg/volume/util/atomic_writer.go): the files live
     * in a timestamped folder, {@code ..data} is a symlink to it, and {@code sluice.yaml} a symlink
     * to {@code ..data/sluice.yaml}. An update writes a new folder, points a {@code ..data_tmp}
     * symlink at it, renames that over {@code ..data} (one atomic step), and removes the old folder.
     */
    private static final class ConfigMapVolume {
        private final Path root;
        private int generation;

        ConfigMapVolume(Path root) throws IOException {
            this.root = Files.createDirectories(root);
        }

        Path file() {
            return root.resolve("sluice.yaml");
        }

        void publish(String text) throws IOException {
            generation++;
            Path folder = root.resolve("..2026_12_05_03_00_%02d.%09d".formatted(generation, generation));
            Files.createDirectory(folder);
            Files.writeString(folder.resolve("sluice.yaml"), text);
            Path data = root.resolve("..data");
            Optional<Path> old = Files.isSymbolicLink(data) ? Optional.of(root.resolve(Files.readSymbolicLink(data)))
                    : Optional.empty();
            Path tmp = root.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, folder.getFileName());
            Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (!Files.exists(file(), LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(file(), Path.of("..data", "sluice.yaml"));
            }
            if (old.isPresent()) {
                deleteFolder(old.get());
            }
        }

        /** The key gone from the ConfigMap: its symlink is removed. */
        void remove() throws IOException {
            Files.delete(file());
        }

        long folders() throws IOException {
            try (Stream<Path> entries = Files.list(root)) {
                return entries.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).count();
            }
        }

        private static void deleteFolder(Path folder) throws IOException {
            try (Stream<Path> walk = Files.walk(folder)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
