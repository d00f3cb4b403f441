package dev.sluice.config;

import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.config.RateLimitConfig.Scope;
import dev.sluice.http.FieldSyntax;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Binds {@code routes[].rate_limits}: each rule's key, rate and burst, in-flight limit, mode, scope and key count. */
final class RateLimitBinder {
    private static final List<String> KEYS = List.of("name", "key", "rate", "burst", "max_in_flight", "mode", "scope",
            "max_keys");
    private static final List<String> KEY_KINDS = List.of("client", "route", "header:NAME");
    private static final List<String> MODES = List.of("enforce", "shadow");
    private static final List<String> SCOPES = List.of("local", "global");
    private static final String HEADER = "header:";
    private static final Pattern RATE = Pattern.compile("([0-9]+)/([a-z]+)");
    private static final Pattern FRACTION = Pattern.compile("[0-9]*\\.[0-9]+/[a-z]+");
    private static final Pattern NUMBER_ONLY = Pattern.compile("[0-9]+");
    private static final String RATE_EXAMPLES = "e.g. 20/s, 600/m, 1000/h";

    private final Values values;
    /** Where {@code scope: global} was written: refused later if the config has no {@code redis:}. */
    private final List<GlobalScope> globalScopes = new ArrayList<>();

    RateLimitBinder(Values values) {
        this.values = values;
    }

    /** A {@code scope: global} and where it was written. */
    record GlobalScope(YamlNode node, String path) {}

    List<GlobalScope> globalScopes() {
        return List.copyOf(globalScopes);
    }

    /** The rules in order, or those that bound after reporting why the others did not. */
    List<RateLimitConfig> bind(YamlNode node, String path, String route) {
        List<RateLimitConfig> rules = new ArrayList<>();
        FirstSeen<String> names = new FirstSeen<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                bindOne(list.items().get(i), Paths.item(path, i), route, names).ifPresent(rules::add);
            }
        });
        return rules;
    }

    private Optional<RateLimitConfig> bindOne(YamlNode node, String path, String route, FirstSeen<String> names) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<Key> key = f.required("key").flatMap(n -> values.parsed(n, f.path("key"), "a key like client",
                RateLimitBinder::key));
        Optional<YamlNode> rateNode = f.optional("rate");
        Optional<Rate> rate = rateNode.flatMap(n -> values.parsed(n, f.path("rate"), "a rate like 20/s",
                RateLimitBinder::rate));
        Optional<YamlNode> burstNode = f.optional("burst");
        Optional<Integer> burst = burstNode.flatMap(n -> values.integer(n, f.path("burst"), 1,
                (int) RateLimitConfig.MOST_TOKENS));
        Optional<YamlNode> inFlightNode = f.optional("max_in_flight");
        int maxInFlight = inFlightNode.flatMap(n -> values.integer(n, f.path("max_in_flight"), 1, Integer.MAX_VALUE))
                .orElse(0);
        Mode mode = f.optional("mode").flatMap(n -> choice(n, f.path("mode"), MODES))
                .map(m -> Mode.valueOf(m.toUpperCase(Locale.ROOT))).orElse(Mode.ENFORCE);
        Optional<YamlNode> scopeNode = f.optional("scope");
        Scope scope = scopeNode.flatMap(n -> choice(n, f.path("scope"), SCOPES))
                .map(s -> Scope.valueOf(s.toUpperCase(Locale.ROOT))).orElse(Scope.LOCAL);
        Optional<YamlNode> maxKeysNode = f.optional("max_keys");
        Optional<Integer> maxKeys = maxKeysNode.flatMap(n -> values.integer(n, f.path("max_keys"), 1,
                RateLimitConfig.MOST_KEYS));

        if (rateNode.isEmpty() && inFlightNode.isEmpty()) {
            values.problems().add(f.at(), "a rate limit needs 'rate', 'max_in_flight' or both " + Paths.where(path));
        }
        if (burstNode.isPresent() && rateNode.isEmpty()) {
            values.invalid(burstNode.get(), f.path("burst"), "a burst needs a rate: it is the size of the rate's bucket");
        }
        if (maxKeysNode.isPresent() && key.orElse(null) instanceof Key.Route) {
            values.invalid(maxKeysNode.get(), f.path("max_keys"),
                    "the route key is one key for the whole route; leave max_keys out");
        }
        if (scope == Scope.GLOBAL) {
            globalScopes.add(new GlobalScope(scopeNode.get(), f.path("scope")));
            if (rateNode.isEmpty() && inFlightNode.isPresent()) {
                values.invalid(scopeNode.get(), f.path("scope"), "a global rule limits a rate, and this one has "
                        + "only max_in_flight: requests in flight are counted by each Sluice; leave scope out");
            } else if (inFlightNode.isPresent()) {
                values.invalid(inFlightNode.get(), f.path("max_in_flight"), "a global rule limits a rate only: "
                        + "requests in flight are counted by each Sluice, where they are held; put max_in_flight "
                        + "in a rule of its own (scope local), e.g. { key: client, max_in_flight: 4 }");
            }
        }
        Optional<YamlNode> nameNode = f.optional("name");
        Optional<String> name = nameNode.isPresent()
                ? nameNode.flatMap(n -> values.parsed(n, f.path("name"), "a name", RateLimitBinder::name))
                : key.map(Key::text);
        Position nameAt = nameNode.map(YamlNode::at).orElse(f.keyAt("key"));
        name.ifPresent(n -> names.claim(n, nameAt).ifPresent(first -> values.problems().add(nameAt,
                "duplicate rate limit '" + n + "' in route '" + route + "' (first at " + first
                        + "); give one of them a 'name'")));
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        int keys = key.get() instanceof Key.Route ? 1 : maxKeys.orElse(RateLimitConfig.DEFAULT_MAX_KEYS);
        // Burst defaults to the rate's own count: 600/m lets a key send 600 at once and then
        // wait the minute, never more than the rate as written (and as RateLimit-Policy says).
        long size = rate.map(r -> burst.map(Integer::longValue).orElse(r.tokens())).orElse(0L);
        return Optional.of(new RateLimitConfig(name.get(), key.get(), rate, size, maxInFlight, mode, keys, scope));
    }

    static Parsed<Key> key(String text) {
        if (text.regionMatches(true, 0, HEADER, 0, HEADER.length())) {
            String field = text.substring(HEADER.length()).strip();
            if (field.isEmpty()) {
                return Parsed.invalid("a header key needs the header's name: write header:NAME, e.g. header:x-api-key");
            }
            if (!FieldSyntax.isToken(field)) {
                return Parsed.invalid("'" + field + "' is not a valid header name");
            }
            // RFC 9110 §5.1: field names are case-insensitive.
            return Parsed.ok(new Key.Header(field.toLowerCase(Locale.ROOT)));
        }
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "client" -> Parsed.ok(new Key.Client());
            case "route" -> Parsed.ok(new Key.Route());
            default -> Parsed.invalid("expected client, route or header:NAME, got '" + text + "'"
                    + Suggestions.didYouMean(text, KEY_KINDS));
        };
    }

    static Parsed<Rate> rate(String text) {
        Matcher m = RATE.matcher(text);
        if (!m.matches()) {
            String why = NUMBER_ONLY.matcher(text).matches() ? "missing the period (did you mean '" + text + "/s'?)"
                    : FRACTION.matcher(text).matches()
                    ? "use a whole number of requests over a longer period, e.g. 90/m rather than 1.5/s"
                    : "write requests/period, " + RATE_EXAMPLES;
            return Parsed.invalid("invalid rate '" + text + "': " + why);
        }
        Duration period = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(1);
            case "m" -> Duration.ofMinutes(1);
            case "h" -> Duration.ofHours(1);
            default -> null;
        };
        if (period == null) {
            return Parsed.invalid("invalid rate '" + text + "': the period must be s, m or h, " + RATE_EXAMPLES);
        }
        long tokens;
        try {
            tokens = Long.parseLong(m.group(1));
        } catch (NumberFormatException tooLong) {
            tokens = Long.MAX_VALUE;
        }
        if (tokens < 1) {
            return Parsed.invalid("invalid rate '" + text + "': at least 1 request per period");
        }
        if (tokens > RateLimitConfig.MOST_TOKENS) {
            return Parsed.invalid("invalid rate '" + text + "': more than " + RateLimitConfig.MOST_TOKENS
                    + " requests per period limits nothing");
        }
        return Parsed.ok(new Rate(tokens, period));
    }

    /** A rule's name goes into the RateLimit fields as a quoted string (RFC 9651 §3.3.3): printable ASCII, no quotes. */
    static Parsed<String> name(String text) {
        boolean printable = text.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '"' && c != '\\');
        return printable ? Parsed.ok(text) : Parsed.invalid("name '" + text
                + "' must be printable ASCII without spaces, quotes or backslashes: it is sent in the RateLimit fields");
    }

    private Optional<String> choice(YamlNode node, String path, List<String> allowed) {
        return values.parsed(node, path, String.join(" or ", allowed), text -> allowed.contains(text)
                ? Parsed.ok(text)
                : Parsed.invalid("expected " + String.join(" or ", allowed) + ", got '" + text + "'"
                        + Suggestions.didYouMean(text, allowed)));
    }
}
