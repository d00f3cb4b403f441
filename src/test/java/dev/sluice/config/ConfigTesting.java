package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

/** Runs the loader on text that must fail, and returns what it reported. */
final class ConfigTesting {
    static final String SOURCE = "test.yaml";

    private ConfigTesting() {}

    static ConfigException failure(String yaml) {
        Throwable[] thrown = new Throwable[1];
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, SOURCE))
                .isInstanceOf(ConfigException.class)
                .satisfies(t -> thrown[0] = t);
        return (ConfigException) thrown[0];
    }

    /** Each problem as "line:column: message", without the source name. */
    static List<String> problems(String yaml) {
        return failure(yaml).problems().stream()
                .map(p -> p.line() + ":" + p.column() + ": " + p.message())
                .toList();
    }
}
