package dev.sluice.config;

/**
 * How a route changes the request's path before forwarding it ({@code routes[].strip_prefix} and
 * {@code routes[].rewrite}). The query string is never touched.
 */
public sealed interface PathRewriteConfig {
    /** The path goes out as it came: the default. */
    record None() implements PathRewriteConfig {}

    /** The matched {@code path_prefix} is replaced by {@code to} ({@code ""} for {@code strip_prefix}); a path left without its leading '/' gets one. */
    record Prefix(String to) implements PathRewriteConfig {}

    /**
     * The first match of {@code regex} (Java syntax) in the path is replaced by {@code replace},
     * in which {@code \N} or {@code $N} is capture group N; a path the regex does not match goes
     * out unchanged.
     */
    record Regex(String regex, String replace) implements PathRewriteConfig {}

    PathRewriteConfig NONE = new None();
}
