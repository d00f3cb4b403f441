package dev.sluice.config;

import dev.sluice.http.FieldSyntax;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Binds {@code routes[].match} into a {@link MatchConfig}, normalising case where HTTP ignores it. */
final class MatchBinder {
    private static final List<String> KEYS = List.of("host", "path_prefix", "path", "methods", "headers");

    private final Values values;

    MatchBinder(Values values) {
        this.values = values;
    }

    Optional<MatchConfig> bind(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<String> host = f.optional("host").flatMap(n -> values.parsed(n, f.path("host"), "a host name", MatchBinder::host));
        Optional<String> pathPrefix = f.optional("path_prefix")
                .flatMap(n -> values.parsed(n, f.path("path_prefix"), "a path like /api/", MatchBinder::path));
        Optional<String> exactPath = f.optional("path")
                .flatMap(n -> values.parsed(n, f.path("path"), "a path like /health", MatchBinder::path));
        if (f.optional("path").isPresent() && f.optional("path_prefix").isPresent()) {
            String later = f.keyAt("path").isAfter(f.keyAt("path_prefix")) ? "path" : "path_prefix";
            values.problems().add(f.keyAt(later), path + ": use either 'path' (exact) or 'path_prefix', not both");
        }
        List<String> methods = f.optional("methods").map(n -> methods(n, f.path("methods"))).orElse(List.of());
        Map<String, String> headers = f.optional("headers").map(n -> headers(n, f.path("headers"))).orElse(Map.of());
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new MatchConfig(host, pathPrefix, exactPath, methods, headers));
    }

    /** Upper-cased and de-duplicated: methods are case-sensitive on the wire, but nobody means "get". */
    private List<String> methods(YamlNode node, String path) {
        Set<String> methods = new LinkedHashSet<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                values.parsed(list.items().get(i), Paths.item(path, i), "an HTTP method", MatchBinder::method)
                        .ifPresent(methods::add);
            }
        });
        return new ArrayList<>(methods);
    }

    /** Names lower-cased: HTTP field names are case-insensitive (RFC 9110 §5.1), values are compared exactly. */
    private Map<String, String> headers(YamlNode node, String path) {
        Map<String, String> headers = new LinkedHashMap<>();
        FirstSeen<String> seen = new FirstSeen<>();
        values.map(node, path).ifPresent(map -> map.entries().forEach((name, entry) -> {
            String fieldPath = Paths.child(path, name);
            Optional<String> value = values.text(entry.value(), fieldPath, "a header value");
            if (!FieldSyntax.isToken(name)) {
                values.problems().add(entry.keyAt(), fieldPath + ": '" + name + "' is not a valid header name");
                return;
            }
            String lower = name.toLowerCase(Locale.ROOT);
            Optional<Position> first = seen.claim(lower, entry.keyAt());
            if (first.isPresent()) {
                values.problems().add(entry.keyAt(), "duplicate header '" + lower + "' " + Paths.where(path)
                        + " (first at " + first.get() + "; header names ignore case)");
                return;
            }
            value.ifPresent(v -> headers.put(lower, v));
        }));
        return headers;
    }

    static Parsed<String> host(String text) {
        String host = text.toLowerCase(Locale.ROOT);
        if (host.equals("*")) {
            return Parsed.invalid("'*' would match every host; leave 'host' out instead");
        }
        if (host.indexOf(':') >= 0) {
            return Parsed.invalid("'" + text + "' must not include a port; hosts are compared without it");
        }
        String name = host.startsWith("*.") ? host.substring(2) : host;
        if (name.indexOf('*') >= 0) {
            return Parsed.invalid("'" + text + "': '*' is only allowed as a leading '*.', e.g. *.example.com");
        }
        return HostNames.problem(name).<Parsed<String>>map(p -> Parsed.invalid("invalid host: " + p))
                .orElseGet(() -> Parsed.ok(host));
    }

    /** Request targets are compared without query or fragment, so a '?' here could never match. */
    static Parsed<String> path(String text) {
        if (!text.startsWith("/")) {
            return Parsed.invalid("'" + text + "' must start with '/'");
        }
        if (text.chars().anyMatch(c -> c == '?' || c == '#')) {
            return Parsed.invalid("'" + text + "' must not contain '?' or '#'; only the path is matched");
        }
        if (text.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
            return Parsed.invalid("'" + text + "' must not contain spaces or control characters");
        }
        return Parsed.ok(text);
    }

    private static Parsed<String> method(String text) {
        return FieldSyntax.isToken(text)
                ? Parsed.ok(text.toUpperCase(Locale.ROOT))
                : Parsed.invalid("'" + text + "' is not a valid HTTP method");
    }
}
