package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * {@link ConfigLoader#parseWithWarnings} on arbitrary text: it returns a config or throws a
 * {@link ConfigException} whose problems are each located in the text ({@code FILE:LINE:COL:
 * message}, the line within the file), never any other exception. Seeds: the YAML examples of
 * docs/configuration.md, the demo config and hostile YAML (alias bombs, Java type tags, deep
 * nesting, tabs, duplicate keys, out-of-range numbers) in {@code ConfigLoaderFuzzTestInputs/parses/}.
 */
class ConfigLoaderFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void parses(byte[] input) {
        if (input.length > 8192) {
            return;
        }
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            ConfigLoader.parseWithWarnings(text, "fuzz.yaml");
        } catch (ConfigException e) {
            assertThat(e.problems()).as("a refusal names its problems").isNotEmpty();
            long lines = text.lines().count();
            for (ConfigProblem problem : e.problems()) {
                assertThat(problem.source()).isEqualTo("fuzz.yaml");
                assertThat(problem.line()).as("%s is within the text", problem).isLessThanOrEqualTo((int) Math.max(1, lines + 1));
                assertThat(problem.message()).as("%s says what is wrong", problem).isNotBlank();
            }
        }
    }
}
