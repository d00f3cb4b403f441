package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

/** The smallest valid config, which tests extend; and the loader run on text that must fail, with what it reported. */
final class ConfigTesting {
    static final String SOURCE = "test.yaml";

    /** One listener, one route, one cluster of one endpoint: valid. Line numbers in assertions count from it. */
    static final String MINIMAL = """
            listeners:
              - address: 127.0.0.1:8080
            routes:
              - match: { path_prefix: / }
                cluster: app
            clusters:
              - name: app
                endpoints: [127.0.0.1:9001]
            """;

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
