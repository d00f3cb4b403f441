package dev.sluice.control;

import dev.sluice.Instance;
import dev.sluice.config.CheckedConfig;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code sluice run -c FILE --state-dir DIR} inside the test JVM, on real sockets: the config is
 * written to a file so that reloads read it as a user's would. Listeners and admin use port 0.
 */
final class InProcessSluice implements AutoCloseable {
    private final Instance instance;
    private final Path configFile;
    private final AdminHttp admin;

    private InProcessSluice(Instance instance, Path configFile) {
        this.instance = instance;
        this.configFile = configFile;
        this.admin = new AdminHttp(instance.adminAddress().orElseThrow(() ->
                new AssertionError("the test config needs admin: { address: 127.0.0.1:0 }")));
    }

    static InProcessSluice start(String yaml, Path dir, Duration bakePeriod) throws Exception {
        return start(yaml, dir, bakePeriod, false);
    }

    /** As {@code run --auto-rollback} when {@code autoRollback}. */
    static InProcessSluice start(String yaml, Path dir, Duration bakePeriod, boolean autoRollback) throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, yaml);
        CheckedConfig checked = ConfigLoader.parseWithWarnings(yaml, file.toString());
        ConfigStore store = ConfigStore.open(dir.resolve("state"));
        Instance instance = Instance.start(checked.config(), new Instance.Startup(yaml, "file " + file + " (start)",
                Optional.of(file), store, bakePeriod, Optional.empty(), autoRollback));
        return new InProcessSluice(instance, file);
    }

    Instance instance() {
        return instance;
    }

    AdminHttp admin() {
        return admin;
    }

    InetSocketAddress listener() {
        return listener(0);
    }

    InetSocketAddress listener(int index) {
        InetSocketAddress bound = instance.listenerAddresses().get(index);
        return new InetSocketAddress("127.0.0.1", bound.getPort());
    }

    Path configFile() {
        return configFile;
    }

    void writeConfig(String yaml) throws Exception {
        Files.writeString(configFile, yaml);
    }

    @Override
    public void close() {
        if (!instance.stopped().isDone()) {
            instance.close();
        }
    }
}
