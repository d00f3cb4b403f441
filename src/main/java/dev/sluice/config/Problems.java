package dev.sluice.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects every problem found in one source, so a user fixes a file in one pass, not one error per run. */
final class Problems {
    private final String source;
    private final List<ConfigProblem> found = new ArrayList<>();

    Problems(String source) {
        this.source = source;
    }

    void add(Position at, String message) {
        found.add(new ConfigProblem(source, at.line(), at.column(), message));
    }

    int count() {
        return found.size();
    }

    /** In file order; checks run section by section, but people read a file top to bottom. */
    List<ConfigProblem> inFileOrder() {
        return found.stream()
                .sorted(Comparator.comparingInt(ConfigProblem::line).thenComparingInt(ConfigProblem::column))
                .toList();
    }
}
