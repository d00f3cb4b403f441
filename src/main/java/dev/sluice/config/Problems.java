package dev.sluice.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Collects every problem found in one source, so a user fixes a file in one pass, not one error
 * per run; and the warnings, which do not stop the config from loading.
 */
final class Problems {
    private final String source;
    private final List<ConfigProblem> found = new ArrayList<>();
    private final List<ConfigWarning> warnings = new ArrayList<>();

    Problems(String source) {
        this.source = source;
    }

    /** The config's name in messages: its file, or what pushed it. */
    String source() {
        return source;
    }

    void add(Position at, String message) {
        found.add(new ConfigProblem(source, at.line(), at.column(), message));
    }

    int count() {
        return found.size();
    }

    void warn(Position at, String message) {
        warnings.add(new ConfigWarning(source, at.line(), at.column(), message));
    }

    List<ConfigWarning> warningsInFileOrder() {
        return warnings.stream()
                .sorted(Comparator.comparingInt(ConfigWarning::line).thenComparingInt(ConfigWarning::column))
                .toList();
    }

    /** In file order; checks run section by section, but people read a file top to bottom. */
    List<ConfigProblem> inFileOrder() {
        return found.stream()
                .sorted(Comparator.comparingInt(ConfigProblem::line).thenComparingInt(ConfigProblem::column))
                .toList();
    }
}
