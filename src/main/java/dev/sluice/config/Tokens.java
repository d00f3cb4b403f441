package dev.sluice.config;

/** RFC 9110 §5.6.2 {@code token}: the syntax of HTTP method and header field names. */
final class Tokens {
    private static final String SPECIALS = "!#$%&'*+-.^_`|~";

    private Tokens() {}

    static boolean isToken(String text) {
        return !text.isEmpty() && text.chars().allMatch(Tokens::isTchar);
    }

    private static boolean isTchar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SPECIALS.indexOf(c) >= 0;
    }
}
