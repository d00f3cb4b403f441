package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/configuration.md is a specification: its examples are run, so they cannot drift from the loader. */
class ConfigurationDocTest {
    private static final Path DOC = Path.of("docs/configuration.md");
    private static final Pattern FENCE = Pattern.compile("```(\\w*)\\n(.*?)```", Pattern.DOTALL);

    record Block(String language, String body) {}

    @Test
    void everyYamlExampleBeforeTheErrorsSectionLoads() throws Exception {
        List<Block> yaml = blocks(section(false)).stream().filter(b -> b.language().equals("yaml")).toList();

        assertThat(yaml).hasSizeGreaterThanOrEqualTo(2);
        for (Block block : yaml) {
            assertThat(ConfigLoader.parse(block.body(), "doc.yaml").listeners()).isNotEmpty();
        }
    }

    @Test
    void theErrorsExampleShowsExactlyWhatTheLoaderPrints() throws Exception {
        List<Block> blocks = blocks(section(true));
        int yaml = blocks.indexOf(blocks.stream().filter(b -> b.language().equals("yaml")).findFirst().orElseThrow());
        String documentedOutput = blocks.get(yaml + 1).body().strip();

        assertThatThrownBy(() -> ConfigLoader.parse(blocks.get(yaml).body(), "bad.yaml"))
                .isInstanceOf(ConfigException.class)
                .hasMessage(documentedOutput);
    }

    @Test
    void theMinimalConfigIsTheOneTheArchitectureGuarantees() throws IOException {
        assertThat(blocks(section(false))).extracting(Block::body).contains(ConfigLoaderTest.MINIMAL);
    }

    private static String section(boolean errors) throws IOException {
        String doc = Files.readString(DOC);
        int start = doc.indexOf("\n## Errors\n");
        assertThat(start).isPositive();
        return errors ? doc.substring(start) : doc.substring(0, start);
    }

    private static List<Block> blocks(String markdown) {
        List<Block> blocks = new ArrayList<>();
        Matcher m = FENCE.matcher(markdown);
        while (m.find()) {
            blocks.add(new Block(m.group(1), m.group(2)));
        }
        return blocks;
    }
}
