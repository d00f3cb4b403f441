package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each config file's history is its own: {@code .FILE.sluice-state} beside it (docs/operations.md). */
class DefaultStateDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void theDefaultStateDirectoryIsNamedAfterTheConfigFileBesideIt() {
        assertThat(Sluice.defaultStateDir(dir.resolve("conf/../min.yaml")))
                .isEqualTo(dir.toAbsolutePath().resolve(".min.yaml.sluice-state"));
        assertThat(Sluice.defaultStateDir(dir.resolve("full.yaml")))
                .isEqualTo(dir.toAbsolutePath().resolve(".full.yaml.sluice-state"));
    }

    @Test
    void theSharedStateDirectoryOfEarlierReleasesIsNotReadAndTheNoteSaysHowToKeepIt() throws Exception {
        Path shared = dir.resolve(".sluice-state");
        try (ConfigStore old = ConfigStore.open(shared)) {
            old.add("other: 1\n", "file other.yaml (start)", Instant.EPOCH, Optional.empty());
        }
        Path config = dir.resolve("min.yaml");

        String err = stderrOf(() -> {
            try (ConfigStore store = Sluice.openStore(null, config).orElseThrow()) {
                assertThat(store.directory()).contains(Sluice.defaultStateDir(config));
                assertThat(store.versions()).as("another file's history").isEmpty();
            }
        });

        assertThat(err).contains("is no longer used").contains("mv " + shared.toAbsolutePath().normalize() + " "
                + Sluice.defaultStateDir(config));
        assertThat(stderrOf(() -> Sluice.openStore(null, config).orElseThrow().close()))
                .as("said once, before this file has its own").isEmpty();
    }

    private static String stderrOf(Runnable action) {
        PrintStream old = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(old);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
