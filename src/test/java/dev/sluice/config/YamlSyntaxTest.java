package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the reader reports before any binding: syntax, emptiness, shape. */
class YamlSyntaxTest {

    @Test
    void emptyFileIsOneClearError() {
        assertThat(problems("")).containsExactly(
                "1:1: the config is empty: it needs at least 'listeners', 'routes' and 'clusters'");
        assertThat(problems("# nothing yet\n\n")).containsExactly(
                "1:1: the config is empty: it needs at least 'listeners', 'routes' and 'clusters'");
        assertThat(problems("---\n")).hasSize(1);
    }

    @Test
    void syntaxErrorIsReportedAtItsLineAndColumn() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes: [a, b
                """)).containsExactly(
                "4:1: invalid YAML: expected ',' or ']', but got <stream end> (while parsing a flow sequence that started at 3:9)");
    }

    @Test
    void aKeyOffByOneColumnIsExplainedInColumnsNotParserEvents() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                 routes: []
                """)).singleElement().asString().startsWith("3:2: bad indentation: 'routes: []' starts at column 2")
                .doesNotContain("<block");
        assertThat(problems("""
                routes:
                  - name: r
                    match: { path_prefix: / }
                     cluster: c
                """)).containsExactly("4:6: bad indentation: 'cluster: c' starts at column 6, deeper than the keys"
                + " of the map that starts at line 2 (column 5); a key of that map lines up at column 5, and a value"
                + " nested deeper needs a key ending in ':' on the line above");
        assertThat(problems("""
                routes:
                  - name: r
                    match: { path_prefix: / }
                  cluster: c
                """)).containsExactly("4:3: bad indentation: 'cluster: c' starts at column 3, where the list that"
                + " starts at line 2 has its '- ' items; indent it to line up with the keys of its item, or start a"
                + " new item with '- '");
    }

    @Test
    void tabIndentationIsReportedAtTheTab() {
        assertThat(problems("listeners:\n\t- address: 127.0.0.1:8080\n")).singleElement().asString()
                .startsWith("2:1: invalid YAML: found character '\\t(TAB)' that cannot start any token");
    }

    @Test
    void unquotedIpv6AddressGetsAHintToQuoteIt() {
        assertThat(problems("""
                listeners:
                  - address: [::1]:8080
                """)).singleElement().asString()
                .startsWith("2:15: invalid YAML: ")
                .endsWith("; quote IPv6 addresses, e.g. \"[::1]:8080\" or \"::1/128\"");
    }

    @Test
    void topLevelMustBeAMap() {
        assertThat(problems("- listeners\n")).containsExactly(
                "1:1: the config must be a map with 'listeners', 'routes' and 'clusters', got a list");
    }

    @Test
    void aSecondDocumentIsRefusedRatherThanIgnored() {
        assertThat(problems(ConfigLoaderTest.MINIMAL + "---\nlisteners: []\n")).containsExactly(
                "12:1: only one YAML document is allowed; remove this '---' document or move it to another file");
    }

    @Test
    void complexKeysAreRefused() {
        assertThat(problems("? [a, b]\n: c\n")).singleElement().asString()
                .endsWith("invalid YAML: map keys must be plain strings");
    }
}
