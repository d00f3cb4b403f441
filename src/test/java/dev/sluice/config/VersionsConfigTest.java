package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code versions: { auto_rollback }}: off unless asked for. */
class VersionsConfigTest {
    private static final String BASE = ConfigTesting.MINIMAL;

    @Test
    void autoRollbackIsOffUnlessTheConfigTurnsItOn() throws ConfigException {
        assertThat(ConfigLoader.parse(BASE, "x.yaml").versions().autoRollback()).isFalse();
        assertThat(ConfigLoader.parse(BASE + "versions: { auto_rollback: true }\n", "x.yaml").versions().autoRollback())
                .isTrue();
        assertThat(ConfigLoader.parse(BASE + "versions: { auto_rollback: false }\n", "x.yaml").versions())
                .isEqualTo(VersionsConfig.DEFAULT);
    }

    @Test
    void aMisspeltKeyOrAValueThatIsNotABooleanIsAnError() {
        assertThat(problems(BASE + "versions: { autorollback: true }\n")).singleElement().asString()
                .startsWith("9:13: unknown key 'autorollback' in versions (did you mean 'auto_rollback'?)");
        assertThat(problems(BASE + "versions: { auto_rollback: sometimes }\n")).singleElement().asString()
                .startsWith("9:28: versions.auto_rollback:");
    }
}
