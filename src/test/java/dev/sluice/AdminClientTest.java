package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigStore;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice rollback} and {@code versions} without options: the running sluice of the current folder. */
class AdminClientTest {
    @TempDir
    Path dir;

    @Test
    void theOneRunningSluiceOfTheFolderIsFoundByItsStateDirectory() throws Exception {
        try (ConfigStore store = ConfigStore.open(Sluice.defaultStateDir(dir.resolve("min.yaml")))) {
            store.writeInstance(ProcessHandle.current().pid(), Optional.of("127.0.0.1:9901"));

            AdminClient.Located located = AdminClient.inFolder(dir);

            assertThat(located).isInstanceOfSatisfying(AdminClient.Located.Found.class,
                    found -> assertThat(found.client().address()).isEqualTo("127.0.0.1:9901"));
        }
    }

    @Test
    void withTwoRunningSluicesInTheFolderNeitherIsGuessed() throws Exception {
        try (ConfigStore a = ConfigStore.open(Sluice.defaultStateDir(dir.resolve("a.yaml")));
             ConfigStore b = ConfigStore.open(Sluice.defaultStateDir(dir.resolve("b.yaml")))) {
            a.writeInstance(ProcessHandle.current().pid(), Optional.of("127.0.0.1:9901"));
            b.writeInstance(ProcessHandle.current().pid(), Optional.of("127.0.0.1:9902"));

            AdminClient.Located located = AdminClient.inFolder(dir);

            assertThat(located).isInstanceOfSatisfying(AdminClient.Located.NotFound.class, notFound -> assertThat(
                    notFound.why()).contains(".a.yaml.sluice-state, .b.yaml.sluice-state").contains("say which"));
        }
    }
}
