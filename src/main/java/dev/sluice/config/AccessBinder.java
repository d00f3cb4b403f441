package dev.sluice.config;

import dev.sluice.http.FieldSyntax;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Binds a route's access control: {@code allow_ips}, {@code deny_ips}, {@code basic_auth} and
 * {@code cors}. A users file is read here, at load: {@code check} finds a missing file or a bad
 * line, and a reload reads it again.
 */
final class AccessBinder {
    static final List<String> KEYS = List.of("allow_ips", "deny_ips", "basic_auth", "cors");
    private static final List<String> BASIC_AUTH_KEYS = List.of("users_file", "realm", "pass_authorization");
    private static final List<String> CORS_KEYS = List.of("origins", "methods", "headers", "expose", "credentials",
            "max_age");
    private static final Pattern BCRYPT = Pattern.compile("\\$2[aby]\\$(\\d\\d)\\$[./A-Za-z0-9]{53}");
    private static final Pattern ARGON2_PARAMETERS = Pattern.compile("m=(\\d{1,10}),t=(\\d{1,10}),p=(\\d{1,8})");
    /** {@code https://app.example.com}, {@code http://localhost:3000}, {@code https://*.example.com}. */
    private static final Pattern ORIGIN = Pattern.compile(
            "[a-z][a-z0-9+.-]*://(\\*\\.)?([a-z0-9-]+(\\.[a-z0-9-]+)*|\\[[0-9a-f:.]+\\])(:\\d{1,5})?");
    /** Lines of a users file reported at most, so a wrong file (a binary, a key) gives a readable error. */
    private static final int MAX_REPORTED_LINES = 5;

    private final Values values;

    AccessBinder(Values values) {
        this.values = values;
    }

    AccessConfig bind(Fields f) {
        List<String> allow = f.optional("allow_ips").map(n -> cidrs(n, f.path("allow_ips"))).orElse(List.of());
        List<String> deny = f.optional("deny_ips").map(n -> cidrs(n, f.path("deny_ips"))).orElse(List.of());
        Optional<BasicAuthConfig> basicAuth = f.optional("basic_auth")
                .flatMap(n -> basicAuth(n, f.path("basic_auth")));
        Optional<CorsConfig> cors = f.optional("cors").flatMap(n -> cors(n, f.path("cors")));
        return new AccessConfig(allow, deny, basicAuth, cors);
    }

    private List<String> cidrs(YamlNode node, String path) {
        List<String> cidrs = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "an empty list allows nothing; remove the key, or give CIDR blocks");
            }
            for (int i = 0; i < list.items().size(); i++) {
                values.parsed(list.items().get(i), Paths.item(path, i), "a CIDR like 10.0.0.0/8", Cidrs::parse)
                        .ifPresent(cidrs::add);
            }
        });
        return cidrs;
    }

    private Optional<BasicAuthConfig> basicAuth(YamlNode node, String path) {
        return values.map(node, path).flatMap(map -> {
            Fields f = Fields.of(map, path, BASIC_AUTH_KEYS, values.problems());
            String realm = f.optional("realm").flatMap(n -> values.parsed(n, f.path("realm"), "a realm", AccessBinder::realm))
                    .orElse(BasicAuthConfig.DEFAULT_REALM);
            boolean pass = f.optional("pass_authorization").flatMap(n -> values.bool(n, f.path("pass_authorization")))
                    .orElse(BasicAuthConfig.DEFAULT_PASS_AUTHORIZATION);
            return f.required("users_file").flatMap(n -> values.text(n, f.path("users_file"), "a file path")
                    .flatMap(file -> users(n, f.path("users_file"), file)
                            .map(users -> new BasicAuthConfig(realm, file, users, pass))));
        });
    }

    /** A realm goes in a quoted-string (RFC 7617 §2): no quotes, backslashes or control characters. */
    private static Parsed<String> realm(String text) {
        return text.chars().anyMatch(c -> c == '"' || c == '\\' || c < ' ' || c == 0x7f)
                ? Parsed.invalid("a realm may not contain '\"', '\\' or control characters")
                : Parsed.ok(text);
    }

    private Optional<List<BasicAuthConfig.User>> users(YamlNode node, String path, String name) {
        java.nio.file.Path file = java.nio.file.Path.of(name);
        if (!file.isAbsolute()) {
            // A rollback loads a stored copy of the config from the state directory: a relative
            // path would be read from there.
            values.invalid(node, path, "'" + name + "' must be an absolute path");
            return Optional.empty();
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            values.invalid(node, path, "cannot read '" + name + "': file not found");
            return Optional.empty();
        } catch (AccessDeniedException e) {
            values.invalid(node, path, "cannot read '" + name + "': permission denied");
            return Optional.empty();
        } catch (MalformedInputException e) {
            values.invalid(node, path, "cannot read '" + name + "': not UTF-8 text");
            return Optional.empty();
        } catch (IOException | UncheckedIOException e) {
            values.invalid(node, path, "cannot read '" + name + "': " + e.getMessage());
            return Optional.empty();
        }
        List<BasicAuthConfig.User> users = new ArrayList<>();
        FirstSeen<String> names = new FirstSeen<>();
        int bad = 0;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Optional<String> problem = user(line, i + 1, names, users);
            if (problem.isPresent() && bad++ < MAX_REPORTED_LINES) {
                values.invalid(node, path, "'" + name + "' line " + (i + 1) + ": " + problem.get());
            }
        }
        if (bad > MAX_REPORTED_LINES) {
            values.invalid(node, path, "'" + name + "': " + (bad - MAX_REPORTED_LINES) + " more bad lines");
        }
        if (bad == 0 && users.isEmpty()) {
            values.invalid(node, path, "'" + name + "' has no users (lines of name:hash), so no one could log in");
        }
        return bad == 0 && !users.isEmpty() ? Optional.of(users) : Optional.empty();
    }

    /** One {@code name:hash} line, added to {@code users}; or what is wrong with it. */
    private static Optional<String> user(String line, int number, FirstSeen<String> names,
                                         List<BasicAuthConfig.User> users) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
            return Optional.of("expected name:hash");
        }
        String name = line.substring(0, colon);
        if (name.chars().anyMatch(c -> c < ' ' || c == 0x7f)) {
            return Optional.of("the name has control characters");
        }
        Optional<Position> first = names.claim(name, new Position(number, 1));
        if (first.isPresent()) {
            return Optional.of("user '" + name + "' again (first on line " + first.get().line() + ")");
        }
        return switch (hash(line.substring(colon + 1).strip())) {
            case Parsed.Ok<PasswordHashConfig> ok -> {
                users.add(new BasicAuthConfig.User(name, ok.value()));
                yield Optional.empty();
            }
            case Parsed.Invalid<PasswordHashConfig> invalid -> Optional.of("user '" + name + "': " + invalid.reason());
        };
    }

    static Parsed<PasswordHashConfig> hash(String text) {
        if (text.startsWith("$2")) {
            Matcher bcrypt = BCRYPT.matcher(text);
            if (!bcrypt.matches()) {
                return Parsed.invalid("not a bcrypt hash ($2y$NN$ and 53 characters of salt and hash)");
            }
            int cost = Integer.parseInt(bcrypt.group(1));
            if (cost < 4 || cost > 31) {
                return Parsed.invalid("bcrypt cost " + cost + " is out of range (4 to 31)");
            }
            return Parsed.ok(new PasswordHashConfig.Bcrypt(text));
        }
        if (text.startsWith("$argon2id$")) {
            return argon2id(text);
        }
        if (text.startsWith("$argon2")) {
            return Parsed.invalid("only argon2id is supported of the argon2 hashes (argon2i and argon2d are weaker)");
        }
        // MD5 ($apr1$), SHA-1 ({SHA}) and crypt(3) are what htpasswd made by default for years; all
        // are cracked fast on a GPU.
        return Parsed.invalid("unsupported hash; use bcrypt (htpasswd -B) or argon2id");
    }

    private static Parsed<PasswordHashConfig> argon2id(String text) {
        String[] parts = text.split("\\$", -1);
        // "", "argon2id", ["v=19",] "m=…,t=…,p=…", salt, hash
        boolean hasVersion = parts.length == 6;
        if (parts.length != 5 && !hasVersion) {
            return Parsed.invalid("not an argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)");
        }
        int version = 0x10;
        if (hasVersion) {
            if (parts[2].equals("v=19")) {
                version = 0x13;
            } else if (!parts[2].equals("v=16")) {
                return Parsed.invalid("argon2id version '" + parts[2] + "' is not v=19 or v=16");
            }
        }
        Matcher parameters = ARGON2_PARAMETERS.matcher(parts[hasVersion ? 3 : 2]);
        if (!parameters.matches()) {
            return Parsed.invalid("argon2id parameters must read m=<KiB>,t=<iterations>,p=<lanes>");
        }
        long memory = Long.parseLong(parameters.group(1));
        long iterations = Long.parseLong(parameters.group(2));
        long parallelism = Long.parseLong(parameters.group(3));
        if (parallelism < 1 || parallelism > 0xFFFFFF || iterations < 1 || iterations > Integer.MAX_VALUE
                || memory < 8 * parallelism || memory > PasswordHashConfig.Argon2id.MAX_MEMORY_KIB) {
            return Parsed.invalid("argon2id parameters out of range (p ≥ 1, t ≥ 1, 8·p ≤ m ≤ "
                    + PasswordHashConfig.Argon2id.MAX_MEMORY_KIB + " KiB)");
        }
        byte[] salt;
        byte[] hash;
        try {
            salt = Base64.getDecoder().decode(parts[parts.length - 2]);
            hash = Base64.getDecoder().decode(parts[parts.length - 1]);
        } catch (IllegalArgumentException e) {
            return Parsed.invalid("argon2id salt and hash must be base64");
        }
        if (salt.length < 8 || hash.length < 4) {
            return Parsed.invalid("argon2id salt must be at least 8 bytes and the hash at least 4");
        }
        return Parsed.ok(new PasswordHashConfig.Argon2id(text, version, (int) memory, (int) iterations,
                (int) parallelism, salt, hash));
    }

    private Optional<CorsConfig> cors(YamlNode node, String path) {
        return values.map(node, path).flatMap(map -> {
            int before = values.problems().count();
            Fields f = Fields.of(map, path, CORS_KEYS, values.problems());
            List<String> origins = new ArrayList<>();
            boolean anyOrigin = f.required("origins").map(n -> origins(n, f.path("origins"), origins)).orElse(false);
            List<String> methods = f.optional("methods").map(n -> tokens(n, f.path("methods"), "a method", false))
                    .map(list -> list.stream().map(m -> m.toUpperCase(Locale.ROOT)).toList())
                    .orElse(CorsConfig.DEFAULT_METHODS);
            Optional<YamlNode> headersNode = f.optional("headers");
            boolean anyHeader = headersNode.map(AccessBinder::isStar).orElse(false);
            List<String> headers = headersNode.filter(n -> !isStar(n))
                    .map(n -> tokens(n, f.path("headers"), "a field name", true)).orElse(List.of());
            List<String> expose = f.optional("expose").map(n -> tokens(n, f.path("expose"), "a field name", false))
                    .orElse(List.of());
            boolean credentials = f.optional("credentials").flatMap(n -> values.bool(n, f.path("credentials")))
                    .orElse(false);
            if (credentials && anyOrigin) {
                // Fetch standard: a credentialed response must name its origin; "*" is refused by
                // browsers, and echoing any origin would hand every site the user's session.
                values.problems().add(f.keyAt("credentials"), f.path("credentials") + ": not with origins: \"*\" "
                        + "(browsers refuse it, and allowing every origin with the user's cookies lets any site act "
                        + "as the user); list the origins");
            }
            Duration maxAge = f.optional("max_age").flatMap(n -> values.duration(n, f.path("max_age")))
                    .orElse(CorsConfig.DEFAULT_MAX_AGE);
            if (values.problems().count() > before) {
                return Optional.empty();
            }
            return Optional.of(new CorsConfig(origins, anyOrigin, methods, headers, anyHeader, expose, credentials,
                    maxAge));
        });
    }

    private static boolean isStar(YamlNode node) {
        return node instanceof YamlNode.Scalar s && s.text().equals("*");
    }

    /** {@code "*"} (returns true), or a list of origins added to {@code origins}. */
    private boolean origins(YamlNode node, String path, List<String> origins) {
        if (isStar(node)) {
            return true;
        }
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "an empty list allows no origin; remove 'cors', or list origins");
            }
            for (int i = 0; i < list.items().size(); i++) {
                String at = Paths.item(path, i);
                values.parsed(list.items().get(i), at, "an origin like https://app.example.com", AccessBinder::origin)
                        .ifPresent(origins::add);
            }
        });
        return false;
    }

    /** An origin as a browser sends it: scheme, host, optional port; no path, no trailing slash. */
    static Parsed<String> origin(String text) {
        String lower = text.toLowerCase(Locale.ROOT);
        if (lower.equals("*")) {
            return Parsed.invalid("'*' is the whole value (origins: \"*\"), not a list item");
        }
        if (!ORIGIN.matcher(lower).matches()) {
            return Parsed.invalid("'" + text + "' is not an origin (scheme://host[:port], no path; "
                    + "'https://*.example.com' for its subdomains)");
        }
        return Parsed.ok(lower);
    }

    private List<String> tokens(YamlNode node, String path, String what, boolean lowerCase) {
        List<String> tokens = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String at = Paths.item(path, i);
                values.text(item, at, what).ifPresent(text -> {
                    if (!FieldSyntax.isToken(text)) {
                        values.invalid(item, at, "'" + text + "' is not " + what);
                    } else {
                        tokens.add(lowerCase ? text.toLowerCase(Locale.ROOT) : text);
                    }
                });
            }
        });
        return tokens;
    }
}
