package dev.sluice.config;

/**
 * The result of reading one value from its text: the value, or why the text is not one. Parsers
 * return this instead of throwing so the loader can record the reason and keep checking.
 */
sealed interface Parsed<T> {

    record Ok<T>(T value) implements Parsed<T> {}

    record Invalid<T>(String reason) implements Parsed<T> {}

    static <T> Parsed<T> ok(T value) {
        return new Ok<>(value);
    }

    static <T> Parsed<T> invalid(String reason) {
        return new Invalid<>(reason);
    }
}
