package dev.sluice.config;

import dev.sluice.http.FieldSyntax;
import dev.sluice.http.HopByHop;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Binds what a route does to a request besides choosing its cluster: {@code strip_prefix},
 * {@code rewrite}, {@code host}, {@code request_headers}, {@code response_headers},
 * {@code redirect}, {@code respond} and {@code max_body}.
 */
final class RouteRulesBinder {
    private static final List<String> REWRITE_KEYS = List.of("prefix", "regex", "replace");
    private static final List<String> HEADER_KEYS = List.of("set", "add", "remove");
    private static final List<String> REDIRECT_KEYS = List.of("to", "status");
    private static final List<String> RESPOND_KEYS = List.of("status", "body", "content_type");
    private static final Set<Integer> REDIRECT_STATUSES = Set.of(301, 302, 303, 307, 308);
    /**
     * Fields a rule may not touch: Sluice's own (its error marker, Via, the request id and the
     * X-Forwarded-* it sets), the message's framing, and Host (the route's {@code host} key).
     * Hop-by-hop fields are refused too ({@link HopByHop}): they never cross Sluice.
     */
    private static final Map<String, String> RESERVED = Map.of(
            "x-sluice-error", "Sluice's own: it marks Sluice's replies",
            "via", "Sluice's own: it appends itself (RFC 9110 §7.6.3)",
            "x-request-id", "Sluice's own: it keeps or makes the request id",
            "x-forwarded-for", "Sluice's own: set from the client's address and trusted_proxies",
            "x-forwarded-proto", "Sluice's own: set from the client's address and trusted_proxies",
            "x-forwarded-host", "Sluice's own: set from the client's address and trusted_proxies",
            "content-length", "it frames the body; Sluice frames it",
            "transfer-encoding", "it frames the body; Sluice frames it",
            "host", "use the route's 'host' key (client, endpoint or a name)");
    private static final Pattern GROUP = Pattern.compile("[\\\\$]([0-9])");

    private final Values values;

    RouteRulesBinder(Values values) {
        this.values = values;
    }

    /** {@code strip_prefix} and {@code rewrite}, at most one; prefix forms need {@code match.path_prefix}. */
    PathRewriteConfig rewrite(Fields f, Optional<MatchConfig> match) {
        Optional<YamlNode> strip = f.optional("strip_prefix");
        Optional<YamlNode> rewrite = f.optional("rewrite");
        if (strip.isPresent() && rewrite.isPresent()) {
            String later = f.keyAt("rewrite").isAfter(f.keyAt("strip_prefix")) ? "rewrite" : "strip_prefix";
            values.problems().add(f.keyAt(later), f.path(later) + ": use either 'strip_prefix' or 'rewrite', not both");
            return PathRewriteConfig.NONE;
        }
        boolean hasPrefix = match.map(m -> m.pathPrefix().isPresent()).orElse(true);
        if (strip.isPresent()) {
            boolean on = values.bool(strip.get(), f.path("strip_prefix")).orElse(false);
            if (on && !hasPrefix) {
                values.problems().add(f.keyAt("strip_prefix"), f.path("strip_prefix")
                        + ": needs match.path_prefix, the prefix it strips");
            }
            return on ? new PathRewriteConfig.Prefix("") : PathRewriteConfig.NONE;
        }
        if (rewrite.isEmpty()) {
            return PathRewriteConfig.NONE;
        }
        String path = f.path("rewrite");
        Optional<YamlNode.Mapping> map = values.map(rewrite.get(), path);
        if (map.isEmpty()) {
            return PathRewriteConfig.NONE;
        }
        Fields r = Fields.of(map.get(), path, REWRITE_KEYS, values.problems());
        Optional<YamlNode> prefix = r.optional("prefix");
        Optional<YamlNode> regex = r.optional("regex");
        if (prefix.isPresent() == regex.isPresent()) {
            values.problems().add(r.at(), path + ": give either 'prefix' (replaces match.path_prefix) or 'regex' with "
                    + "'replace'");
            return PathRewriteConfig.NONE;
        }
        if (prefix.isPresent()) {
            if (r.optional("replace").isPresent()) {
                values.problems().add(r.keyAt("replace"), path + ": 'replace' goes with 'regex', not 'prefix'");
            }
            if (!hasPrefix) {
                values.problems().add(r.keyAt("prefix"), r.path("prefix")
                        + ": needs match.path_prefix, the prefix it replaces");
            }
            return values.parsed(prefix.get(), r.path("prefix"), "a path like /v2/", MatchBinder::path)
                    .<PathRewriteConfig>map(PathRewriteConfig.Prefix::new).orElse(PathRewriteConfig.NONE);
        }
        Optional<Pattern> pattern = values.parsed(regex.get(), r.path("regex"), "a regular expression",
                RouteRulesBinder::regex);
        Optional<YamlNode> replaceNode = r.required("replace");
        Optional<String> replace = replaceNode.flatMap(n -> values.text(n, r.path("replace")));
        if (pattern.isEmpty() || replace.isEmpty()) {
            return PathRewriteConfig.NONE;
        }
        Optional<String> problem = replacementProblem(replace.get(), pattern.get());
        if (problem.isPresent()) {
            values.problems().add(replaceNode.get().at(), r.path("replace") + ": " + problem.get());
            return PathRewriteConfig.NONE;
        }
        return new PathRewriteConfig.Regex(pattern.get().pattern(), replace.get());
    }

    private static Parsed<Pattern> regex(String text) {
        try {
            return Parsed.ok(Pattern.compile(text));
        } catch (PatternSyntaxException e) {
            return Parsed.invalid("'" + text + "' is not a valid regular expression: " + e.getDescription()
                    + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
        }
    }

    /** A replacement refers only to groups the regex has, and makes a path: no spaces, controls, '?' or '#'. */
    private static Optional<String> replacementProblem(String replace, Pattern pattern) {
        Matcher groups = GROUP.matcher(replace);
        int count = pattern.matcher("").groupCount();
        while (groups.find()) {
            int group = groups.group(1).charAt(0) - '0';
            if (group > count) {
                return Optional.of("'" + groups.group() + "' refers to group " + group + ", but the regex has "
                        + count + (count == 1 ? " group" : " groups"));
            }
        }
        if (replace.chars().anyMatch(c -> c <= ' ' || c == 0x7f || c == '?' || c == '#')) {
            return Optional.of("'" + replace + "' must not contain spaces, control characters, '?' or '#' "
                    + "(the query string is kept as it came)");
        }
        return Optional.empty();
    }

    /** {@code host: client | endpoint | <name>}. */
    UpstreamHostConfig host(YamlNode node, String path) {
        return values.parsed(node, path, "client, endpoint or a host name", text -> switch (text) {
            case "client" -> Parsed.ok(UpstreamHostConfig.CLIENT);
            case "endpoint" -> Parsed.ok(UpstreamHostConfig.ENDPOINT);
            default -> fixedHost(text);
        }).orElse(UpstreamHostConfig.CLIENT);
    }

    private static Parsed<UpstreamHostConfig> fixedHost(String text) {
        int colon = text.lastIndexOf(':');
        String name = colon > 0 && text.substring(colon + 1).chars().allMatch(Character::isDigit)
                && colon < text.length() - 1 ? text.substring(0, colon) : text;
        return HostNames.problem(name).<Parsed<UpstreamHostConfig>>map(p -> Parsed.invalid(
                        "'" + text + "' is not client, endpoint or a host name: " + p))
                .orElseGet(() -> Parsed.ok(new UpstreamHostConfig.Fixed(text)));
    }

    /** {@code request_headers} or {@code response_headers}: {@code { set: {..}, add: {..}, remove: [..] }}. */
    HeaderRulesConfig headers(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return HeaderRulesConfig.NONE;
        }
        Fields f = Fields.of(map.get(), path, HEADER_KEYS, values.problems());
        List<String> remove = new ArrayList<>();
        f.optional("remove").flatMap(n -> values.list(n, f.path("remove"))).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String itemPath = Paths.item(f.path("remove"), i);
                values.text(item, itemPath, "a header name").flatMap(name -> fieldName(name, item.at(), itemPath))
                        .ifPresent(remove::add);
            }
        });
        Map<String, TemplateConfig> set = f.optional("set").map(n -> valued(n, f.path("set"))).orElse(Map.of());
        Map<String, TemplateConfig> add = f.optional("add").map(n -> valued(n, f.path("add"))).orElse(Map.of());
        return new HeaderRulesConfig(remove, set, add);
    }

    private Map<String, TemplateConfig> valued(YamlNode node, String path) {
        Map<String, TemplateConfig> fields = new LinkedHashMap<>();
        FirstSeen<String> seen = new FirstSeen<>();
        values.map(node, path).ifPresent(map -> map.entries().forEach((name, entry) -> {
            String fieldPath = Paths.child(path, name);
            Optional<String> lower = fieldName(name, entry.keyAt(), fieldPath);
            Optional<TemplateConfig> value = values.parsed(entry.value(), fieldPath, "a header value",
                    RouteRulesBinder::headerValue);
            if (lower.isEmpty()) {
                return;
            }
            Optional<Position> first = seen.claim(lower.get(), entry.keyAt());
            if (first.isPresent()) {
                values.problems().add(entry.keyAt(), "duplicate header '" + lower.get() + "' " + Paths.where(path)
                        + " (first at " + first.get() + "; header names ignore case)");
                return;
            }
            value.ifPresent(v -> fields.put(lower.get(), v));
        }));
        return fields;
    }

    private Optional<String> fieldName(String name, Position at, String path) {
        if (!FieldSyntax.isToken(name)) {
            values.problems().add(at, path + ": '" + name + "' is not a valid header name");
            return Optional.empty();
        }
        String lower = name.toLowerCase(Locale.ROOT);
        Optional<String> reserved = reserved(lower);
        if (reserved.isPresent()) {
            values.problems().add(at, path + ": '" + name + "' cannot be changed by a rule: " + reserved.get());
            return Optional.empty();
        }
        return Optional.of(lower);
    }

    /** Why a field ({@code lower}, lower case) is Sluice's to write and no rule's, if it is. */
    static Optional<String> reserved(String lower) {
        String reserved = RESERVED.get(lower);
        if (reserved == null && HopByHop.is(lower)) {
            reserved = "hop-by-hop: it describes one connection and is never forwarded (RFC 9110 §7.6.1)";
        }
        return Optional.ofNullable(reserved);
    }

    private static Parsed<TemplateConfig> headerValue(String text) {
        // RFC 9110 §5.5: a value is visible characters, spaces and tabs; CR and LF would split the head.
        if (text.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f || c > 0xff)) {
            return Parsed.invalid("'" + text + "' must not contain control characters or characters beyond Latin-1");
        }
        return TemplateConfig.parse(text, TemplateConfig.HEADER_VARIABLES);
    }

    /** {@code redirect: { to, status }}. */
    Optional<LocalAnswerConfig> redirect(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        Fields f = Fields.of(map.get(), path, REDIRECT_KEYS, values.problems());
        Optional<TemplateConfig> to = f.required("to").flatMap(n -> values.parsed(n, f.path("to"),
                "a URL like https://example.com${uri} or a path", RouteRulesBinder::target));
        int status = f.optional("status").flatMap(n -> values.integer(n, f.path("status"), 300, 399).flatMap(s -> {
            if (!REDIRECT_STATUSES.contains(s)) {
                values.invalid(n, f.path("status"), s + " is not a redirect status; use 301, 302, 303, 307 or 308");
                return Optional.empty();
            }
            return Optional.of(s);
        })).orElse(LocalAnswerConfig.Redirect.DEFAULT_STATUS);
        return to.map(t -> new LocalAnswerConfig.Redirect(t, status));
    }

    private static Parsed<TemplateConfig> target(String text) {
        if (!text.startsWith("/") && !text.matches("(?i)[a-z][a-z0-9+.-]*://.*") && !text.startsWith("${")) {
            return Parsed.invalid("'" + text + "' must be an absolute URL (https://...) or a path starting with '/'");
        }
        if (text.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            return Parsed.invalid("'" + text + "' must not contain spaces or control characters");
        }
        return TemplateConfig.parse(text, TemplateConfig.REDIRECT_VARIABLES);
    }

    /** {@code respond: { status, body, content_type }}. */
    Optional<LocalAnswerConfig> respond(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, RESPOND_KEYS, values.problems());
        int status = f.optional("status").flatMap(n -> values.integer(n, f.path("status"), 200, 599)).orElse(200);
        String body = f.optional("body").flatMap(n -> values.text(n, f.path("body"))).orElse("");
        Optional<String> type = f.optional("content_type").flatMap(n -> values.parsed(n, f.path("content_type"),
                "a media type like text/plain", RouteRulesBinder::mediaType));
        // RFC 9110 §6.4.1: 204 and 304 have no content.
        if ((status == 204 || status == 304) && !body.isEmpty()) {
            values.problems().add(f.keyAt("body"), f.path("body") + ": a " + status + " response has no body");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new LocalAnswerConfig.Respond(status, body,
                type.or(() -> body.isEmpty() ? Optional.empty() : Optional.of(LocalAnswerConfig.Respond.DEFAULT_CONTENT_TYPE))));
    }

    private static Parsed<String> mediaType(String text) {
        int slash = text.indexOf('/');
        int end = text.indexOf(';') < 0 ? text.length() : text.indexOf(';');
        if (slash <= 0 || !FieldSyntax.isToken(text.substring(0, slash)) || !FieldSyntax.isToken(text.substring(slash + 1, end).strip())
                || text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            return Parsed.invalid("'" + text + "' is not a media type like text/plain or application/json");
        }
        return Parsed.ok(text);
    }
}
