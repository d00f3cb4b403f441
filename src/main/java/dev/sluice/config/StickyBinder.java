package dev.sluice.config;

import dev.sluice.config.StickyConfig.Cookie;
import dev.sluice.config.StickyConfig.HashSource;
import dev.sluice.config.StickyConfig.SameSite;
import dev.sluice.http.FieldSyntax;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Binds {@code clusters[].sticky}: {@code cookie: {...}} or {@code hash: client | header:NAME}. */
final class StickyBinder {
    private static final List<String> KEYS = List.of("cookie", "hash");
    private static final List<String> COOKIE_KEYS = List.of("name", "ttl", "path", "http_only", "secure", "same_site",
            "secret");
    private static final List<String> SAME_SITES =
            Arrays.stream(SameSite.values()).map(s -> s.name().toLowerCase(Locale.ROOT)).toList();
    private static final String HEADER = "header:";
    /** {@code ttl: session}: no Max-Age, the cookie lasts as long as the browser's session. */
    private static final String SESSION = "session";

    private final Values values;

    StickyBinder(Values values) {
        this.values = values;
    }

    /** The cluster's affinity, or empty after reporting why not. */
    Optional<StickyConfig> bind(YamlNode node, String path, String cluster) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> cookie = f.optional("cookie");
        Optional<YamlNode> hash = f.optional("hash");
        if (cookie.isPresent() == hash.isPresent()) {
            values.problems().add(f.at(), path + ": " + (cookie.isPresent()
                    ? "choose one of 'cookie' and 'hash'; a request follows one or the other"
                    : "say how requests stick: 'cookie: {}' (a cookie Sluice sets), or 'hash: client' or "
                            + "'hash: header:NAME' (consistent hashing of the client's address or a header)"));
            return Optional.empty();
        }
        if (hash.isPresent()) {
            return values.parsed(hash.get(), f.path("hash"), "client or header:NAME", StickyBinder::source)
                    .map(StickyConfig.Hash::new);
        }
        return cookie(cookie.get(), f.path("cookie"), cluster).map(StickyConfig.class::cast);
    }

    static Parsed<HashSource> source(String text) {
        if (text.regionMatches(true, 0, HEADER, 0, HEADER.length())) {
            String field = text.substring(HEADER.length()).strip();
            if (field.isEmpty()) {
                return Parsed.invalid("a header hash needs the header's name: write header:NAME, e.g. header:x-user-id");
            }
            if (!FieldSyntax.isToken(field)) {
                return Parsed.invalid("'" + field + "' is not a valid header name");
            }
            // RFC 9110 §5.1: field names are case-insensitive.
            return Parsed.ok(new HashSource.Header(field.toLowerCase(Locale.ROOT)));
        }
        if (text.equalsIgnoreCase("client")) {
            return Parsed.ok(new HashSource.Client());
        }
        return Parsed.invalid("unknown hash source '" + text + "': expected client or header:NAME"
                + Suggestions.didYouMean(text, List.of("client", "header")));
    }

    private Optional<Cookie> cookie(YamlNode node, String path, String cluster) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, COOKIE_KEYS, values.problems());
        Optional<YamlNode> nameNode = f.optional("name");
        String name = nameNode.flatMap(n -> values.parsed(n, f.path("name"), "a cookie name", StickyBinder::cookieName))
                .orElse(Cookie.defaultName(cluster));
        if (nameNode.isEmpty() && !FieldSyntax.isToken(name)) {
            values.problems().add(f.at(), path + ": the default cookie name '" + name + "' is not a valid cookie name "
                    + "(the cluster's name has characters a cookie name may not); set 'name'");
        }
        Optional<Duration> ttl = f.optional("ttl").flatMap(n -> ttl(n, f.path("ttl"))).filter(t -> !t.isZero());
        String cookiePath = f.optional("path").flatMap(n -> values.parsed(n, f.path("path"), "a path like /",
                StickyBinder::cookiePath)).orElse(Cookie.DEFAULT_PATH);
        boolean httpOnly = f.optional("http_only").flatMap(n -> values.bool(n, f.path("http_only"))).orElse(true);
        Optional<YamlNode> secureNode = f.optional("secure");
        boolean secure = secureNode.flatMap(n -> values.bool(n, f.path("secure"))).orElse(false);
        Optional<YamlNode> sameSiteNode = f.optional("same_site");
        SameSite sameSite = sameSiteNode.flatMap(n -> sameSite(n, f.path("same_site"))).orElse(Cookie.DEFAULT_SAME_SITE);
        Optional<String> secret = f.optional("secret").flatMap(n -> values.parsed(n, f.path("secret"),
                "a secret of at least " + Cookie.MIN_SECRET_LENGTH + " characters", StickyBinder::secret));
        if (sameSite == SameSite.NONE && !secure) {
            values.invalid(sameSiteNode.get(), f.path("same_site"), "browsers drop a SameSite=None cookie that is not "
                    + "Secure; add 'secure: true' (and serve the site over HTTPS), or use lax");
        }
        // RFC 6265bis §4.1.3: browsers drop prefixed cookies that break the prefix's rules.
        if ((name.startsWith("__Secure-") || name.startsWith("__Host-")) && !secure) {
            values.invalid(nameNode.get(), f.path("name"), "browsers drop a cookie named '" + name.substring(0,
                    name.indexOf('-') + 1) + "...' that is not Secure; add 'secure: true'");
        }
        if (name.startsWith("__Host-") && !cookiePath.equals("/")) {
            values.invalid(nameNode.get(), f.path("name"), "browsers drop a '__Host-' cookie whose path is not /");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new Cookie(name, ttl, cookiePath, httpOnly, secure, sameSite, secret));
    }

    /** RFC 6265 §4.1.1: a cookie name is a token. */
    private static Parsed<String> cookieName(String text) {
        return FieldSyntax.isToken(text) ? Parsed.ok(text)
                : Parsed.invalid("'" + text + "' is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)");
    }

    /** RFC 6265 §4.1.1 path-value: no control characters and no ';'. Sluice also wants it absolute. */
    private static Parsed<String> cookiePath(String text) {
        if (!text.startsWith("/")) {
            return Parsed.invalid("a cookie path starts with '/', got '" + text + "'");
        }
        if (text.chars().anyMatch(c -> c == ';' || c < 0x21 || c > 0x7e)) {
            return Parsed.invalid("a cookie path may not hold ';', spaces or control characters");
        }
        return Parsed.ok(text);
    }

    private static Parsed<String> secret(String text) {
        return text.length() >= Cookie.MIN_SECRET_LENGTH ? Parsed.ok(text)
                : Parsed.invalid("a secret needs at least " + Cookie.MIN_SECRET_LENGTH + " characters (got "
                        + text.length() + "); make one with `openssl rand -hex 32`");
    }

    private Optional<Duration> ttl(YamlNode node, String path) {
        return values.parsed(node, path, "a duration like 1h, or session", text -> {
            if (text.equals(SESSION)) {
                return Parsed.ok(Duration.ZERO);
            }
            return switch (Durations.parse(text)) {
                case Parsed.Ok<Duration> ok when ok.value().compareTo(Duration.ofSeconds(1)) < 0 ->
                        Parsed.invalid("a cookie's Max-Age counts whole seconds; use at least 1s, or 'session'");
                case Parsed.Ok<Duration> ok -> ok;
                case Parsed.Invalid<Duration> bad -> Parsed.invalid(bad.reason() + ", or 'session'");
            };
        });
    }

    private Optional<SameSite> sameSite(YamlNode node, String path) {
        return values.parsed(node, path, "strict, lax or none", text -> {
            int index = SAME_SITES.indexOf(text.toLowerCase(Locale.ROOT));
            return index >= 0 ? Parsed.ok(SameSite.values()[index])
                    : Parsed.invalid("unknown same_site '" + text + "': expected strict, lax or none"
                            + Suggestions.didYouMean(text, SAME_SITES));
        });
    }
}
