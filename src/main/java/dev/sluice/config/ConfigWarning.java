package dev.sluice.config;

import java.util.Objects;

/**
 * Something legal in a config that is known to cause failed requests, at a 1-based line and
 * column. A warning never stops a config from loading.
 *
 * <p>{@link #toString()} is {@code FILE:LINE:COL: warning: message}, the form compilers use for
 * warnings, so tools that parse errors parse these too.
 */
public record ConfigWarning(String source, int line, int column, String message) {

    public ConfigWarning {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(message, "message");
        if (line < 1 || column < 1) {
            throw new IllegalArgumentException("line and column are 1-based: " + line + ":" + column);
        }
    }

    @Override
    public String toString() {
        return source + ":" + line + ":" + column + ": warning: " + message;
    }
}
