package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConfigVersion.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigStoreTest {
    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");

    @TempDir
    Path dir;

    @Test
    void versionsAreNumberedFromOneAndKeepTheirTextHashAndSource() throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            ConfigVersion first = store.add("a: 1\n", "file sluice.yaml (start)", T0, Optional.empty());
            ConfigVersion second = store.add("a: 2\n", "POST /config", T0.plusSeconds(5), Optional.empty());

            assertThat(first.number()).isEqualTo(1);
            assertThat(second.number()).isEqualTo(2);
            assertThat(second.outcome()).isEqualTo(Outcome.BAKING);
            assertThat(second.sha256()).isEqualTo(ConfigStore.sha256("a: 2\n")).hasSize(64);
            assertThat(store.current()).contains(second);
            assertThat(store.text(1)).contains("a: 1\n");
            assertThat(Files.readString(dir.resolve("configs/000002.yaml"))).isEqualTo("a: 2\n");
        }
    }

    @Test
    void theHistorySurvivesAReopen() throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            store.add("a: 1\n", "start", T0, Optional.empty());
            store.update(1, v -> v.withOutcome(Outcome.GOOD, 1000, 3, "baked"));
            store.add("a: 2\n", "rollback to version 1", T0.plusSeconds(1), Optional.of(1));
            store.refused("bad", "POST /config", T0.plusSeconds(2), List.of("<POST /config>:1:1: nope"));
        }
        try (ConfigStore store = ConfigStore.open(dir)) {
            assertThat(store.versions()).hasSize(2);
            ConfigVersion good = store.lastKnownGood().orElseThrow();
            assertThat(good.number()).isEqualTo(1);
            assertThat(good.requests()).isEqualTo(1000);
            assertThat(good.errorRatio()).contains(0.003);
            assertThat(good.appliedAt()).isEqualTo(T0);
            assertThat(store.current().orElseThrow().restoredFrom()).contains(1);
            assertThat(store.refusals()).singleElement()
                    .satisfies(r -> assertThat(r.errors()).containsExactly("<POST /config>:1:1: nope"));
        }
    }

    @Test
    void lastKnownGoodIsTheNewestGoodVersionAndNeverOneRolledBackFrom() throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            for (int i = 1; i <= 4; i++) {
                store.add("v: " + i + "\n", "test", T0, Optional.empty());
            }
            store.update(1, v -> v.withOutcome(Outcome.GOOD, 0, 0, ""));
            store.update(2, v -> v.withOutcome(Outcome.GOOD, 0, 0, ""));
            store.update(3, v -> v.withOutcome(Outcome.BAD, 0, 0, ""));

            assertThat(store.lastKnownGood().map(ConfigVersion::number)).contains(2);
            store.update(2, v -> v.withOutcome(Outcome.ROLLED_BACK, 0, 0, ""));
            assertThat(store.lastKnownGood().map(ConfigVersion::number)).contains(1);
            assertThat(store.before(4).map(ConfigVersion::number)).contains(3);
        }
    }

    @Test
    void aSecondProcessCannotUseTheSameStateDirectory() throws IOException {
        long pid = ProcessHandle.current().pid();
        try (ConfigStore first = ConfigStore.open(dir)) {
            first.writeInstance(pid, Optional.of("127.0.0.1:9901"));
            assertThatThrownBy(() -> ConfigStore.open(dir))
                    .isInstanceOf(ConfigStore.InUseException.class)
                    .hasMessageContaining("in use by another running sluice (pid " + pid + ", admin 127.0.0.1:9901)");
            assertThat(ConfigStore.adminAddressIn(dir)).contains("127.0.0.1:9901");
        }
        assertThat(ConfigStore.adminAddressIn(dir)).as("removed at close").isEmpty();
        ConfigStore.open(dir).close();
    }

    @Test
    void theHolderIsNamedByItsPidFromTheMomentItLocksTheDirectory() throws IOException {
        try (ConfigStore first = ConfigStore.open(dir)) {
            // Starting: the lock is held, instance.json not written yet.
            assertThatThrownBy(() -> ConfigStore.open(dir))
                    .isInstanceOf(ConfigStore.InUseException.class)
                    .hasMessageContaining("in use by another running sluice (pid " + ProcessHandle.current().pid() + ")");
        }
    }

    @Test
    void anInstanceFileLeftByAKilledProcessDoesNotNameTheHolder() throws IOException {
        // What a SIGKILLed sluice leaves: its instance.json; the OS released its lock.
        Files.writeString(dir.resolve("instance.json"), "{\"pid\": 999999999, \"admin\": \"127.0.0.1:1\"}\n");
        try (ConfigStore first = ConfigStore.open(dir)) {
            assertThatThrownBy(() -> ConfigStore.open(dir))
                    .hasMessageContaining("(pid " + ProcessHandle.current().pid() + ")")
                    .hasMessageNotContaining("999999999");
        }
    }

    @Test
    void oldTextsArePrunedButTheLastKnownGoodIsKept() throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            store.add("v: 1\n", "test", T0, Optional.empty());
            store.update(1, v -> v.withOutcome(Outcome.GOOD, 0, 0, ""));
            for (int i = 2; i <= ConfigStore.KEEP_TEXTS + 5; i++) {
                store.add("v: " + i + "\n", "test", T0, Optional.empty());
            }

            assertThat(store.versions()).hasSize(ConfigStore.KEEP_TEXTS + 5);
            assertThat(store.text(1)).contains("v: 1\n");
            assertThat(store.text(2)).isEmpty();
            assertThat(store.text(ConfigStore.KEEP_TEXTS + 5)).isPresent();
        }
    }

    @Test
    void anInMemoryStoreWorksTheSameWithoutADirectory() throws IOException {
        try (ConfigStore store = ConfigStore.inMemory()) {
            store.add("a: 1\n", "<demo>", T0, Optional.empty());

            assertThat(store.directory()).isEmpty();
            assertThat(store.text(1)).contains("a: 1\n");
            assertThat(store.textLocation(1)).isEqualTo("<version 1>");
        }
    }
}
