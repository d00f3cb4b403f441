package dev.sluice.config;

import java.util.Objects;

/**
 * One thing wrong with a config file, at a 1-based line and column of its source.
 *
 * <p>{@link #toString()} is the {@code FILE:LINE:COL: message} form that compilers use, so
 * editors and CI annotators can jump straight to the spot.
 */
public record ConfigProblem(String source, int line, int column, String message) {

    public ConfigProblem {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(message, "message");
        if (line < 1 || column < 1) {
            throw new IllegalArgumentException("line and column are 1-based: " + line + ":" + column);
        }
    }

    @Override
    public String toString() {
        return source + ":" + line + ":" + column + ": " + message;
    }
}
