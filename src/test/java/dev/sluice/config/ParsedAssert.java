package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

/** Unwraps a {@link Parsed} in tests, failing with the other branch's content. */
final class ParsedAssert {
    private ParsedAssert() {}

    static <T> T value(Parsed<T> parsed) {
        assertThat(parsed).isInstanceOf(Parsed.Ok.class);
        return ((Parsed.Ok<T>) parsed).value();
    }

    static String reason(Parsed<?> parsed) {
        assertThat(parsed).isInstanceOf(Parsed.Invalid.class);
        return ((Parsed.Invalid<?>) parsed).reason();
    }
}
