package dev.sluice.config;

import java.util.List;

/**
 * A text with variables ({@code "${request_id}"}), parsed and checked when the config is loaded:
 * header values of a route's header rules and a redirect's target. Only {@code ${name}} is
 * special; any other {@code $} is itself.
 *
 * @param parts the literal texts and variables in order
 */
public record TemplateConfig(List<Part> parts) {

    public TemplateConfig {
        parts = List.copyOf(parts);
    }

    public sealed interface Part {}

    public record Literal(String text) implements Part {}

    /** A variable's name, one of those the place it is written allows. */
    public record Variable(String name) implements Part {}

    /** The variables of header values: the client as rate limits see it, the request id, the route, the matched host. */
    public static final List<String> HEADER_VARIABLES = List.of("client", "request_id", "route", "host");
    /** A redirect's target may also use the request's path, and its path with the query ({@code uri}). */
    public static final List<String> REDIRECT_VARIABLES = List.of("path", "query", "uri", "host", "client",
            "request_id", "route");

    static Parsed<TemplateConfig> parse(String text, List<String> allowed) {
        List<Part> parts = new java.util.ArrayList<>();
        int from = 0;
        int literal = 0;
        while ((from = text.indexOf("${", from)) >= 0) {
            int close = text.indexOf('}', from);
            if (close < 0) {
                return Parsed.invalid("'" + text + "': '${' without its closing '}'");
            }
            String name = text.substring(from + 2, close);
            if (!allowed.contains(name)) {
                return Parsed.invalid("unknown variable '${" + name + "}'" + Suggestions.closest(name, allowed)
                        .map(c -> " (did you mean '${" + c + "}'?)").orElse("")
                        + "; allowed: " + String.join(", ", allowed.stream().map(v -> "${" + v + "}").toList()));
            }
            if (from > literal) {
                parts.add(new Literal(text.substring(literal, from)));
            }
            parts.add(new Variable(name));
            from = close + 1;
            literal = from;
        }
        if (literal < text.length()) {
            parts.add(new Literal(text.substring(literal)));
        }
        return Parsed.ok(new TemplateConfig(parts));
    }

    /** The literal text of a template without variables, or the text as written. */
    static TemplateConfig literal(String text) {
        return new TemplateConfig(text.isEmpty() ? List.of() : List.of(new Literal(text)));
    }
}
