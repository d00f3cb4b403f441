package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestionsTest {
    private static final List<String> KEYS = List.of("name", "address", "idle_timeout", "path_prefix", "path");

    @Test
    void typosAndSeparatorsLeadToTheIntendedKey() {
        assertThat(Suggestions.closest("pathprefix", KEYS)).contains("path_prefix");
        assertThat(Suggestions.closest("pathPrefix", KEYS)).contains("path_prefix");
        assertThat(Suggestions.closest("path-prefix", KEYS)).contains("path_prefix");
        assertThat(Suggestions.closest("adress", KEYS)).contains("address");
        assertThat(Suggestions.closest("idle_timout", KEYS)).contains("idle_timeout");
    }

    @Test
    void unrelatedWordsSuggestNothing() {
        assertThat(Suggestions.closest("colour", KEYS)).isEmpty();
        assertThat(Suggestions.closest("nom", KEYS)).isEmpty();
        assertThat(Suggestions.didYouMean("weight", KEYS)).isEmpty();
    }

    @Test
    void shortNamesAllowOneEdit() {
        assertThat(Suggestions.didYouMean("ap", List.of("app", "web"))).isEqualTo(" (did you mean 'app'?)");
        assertThat(Suggestions.closest("xy", List.of("app"))).isEmpty();
    }
}
