package dev.sluice.access;

import dev.sluice.config.CorsConfig;
import dev.sluice.failure.ReplyFields;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Locale;

/**
 * A route's {@code cors} (the Fetch standard's CORS protocol): Sluice answers a preflight itself,
 * and adds the CORS fields to the responses of actual requests from an allowed origin. CORS is a
 * browser's rule for what a page's script may read, not a lock: a request from a disallowed
 * origin still goes through (a browser keeps its answer from the script), except a preflight,
 * which is refused 403 {@code access_denied} so the refusal is named in the access log.
 */
public final class Cors {
    /** No {@code cors}: nothing added, preflights forwarded like any OPTIONS. */
    static final Cors NONE = new Cors(null);

    private final CorsConfig config;
    private final String methods;
    private final String headers;
    private final String expose;
    private final String maxAge;
    /** The answer depends on the origin (a list, or credentials): caches must keep one per origin. */
    private final boolean variesByOrigin;

    Cors(CorsConfig config) {
        this.config = config;
        if (config == null) {
            methods = headers = expose = maxAge = null;
            variesByOrigin = false;
            return;
        }
        this.methods = String.join(", ", config.methods());
        this.headers = String.join(", ", config.headers());
        this.expose = String.join(", ", config.expose());
        this.maxAge = Long.toString(config.maxAge().toSeconds());
        this.variesByOrigin = !config.anyOrigin() || config.credentials();
    }

    public boolean configured() {
        return config != null;
    }

    CorsConfig config() {
        return config;
    }

    /** A CORS preflight: {@code OPTIONS} with {@code Origin} and {@code Access-Control-Request-Method}. */
    public boolean isPreflight(HttpRequest request) {
        return config != null && HttpMethod.OPTIONS.equals(request.method())
                && request.headers().contains(HttpHeaderNames.ORIGIN)
                && request.headers().contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    }

    /**
     * The fields of a preflight's 204, or null when its origin is not allowed. The allowed methods
     * and fields are the configured ones whatever the preflight asks: the browser compares.
     */
    public ReplyFields preflight(HttpRequest request) {
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (!allows(origin)) {
            return null;
        }
        ReplyFields fields = allowOrigin(ReplyFields.NONE, origin)
                .with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, methods);
        String requested = request.headers().get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS);
        if (config.anyHeader() && requested != null && !requested.isBlank()) {
            // Named back rather than "*", which a credentialed preflight may not use.
            fields = fields.with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, requested);
        } else if (!headers.isEmpty()) {
            fields = fields.with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, headers);
        }
        fields = fields.with(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, maxAge);
        return fields.with(HttpHeaderNames.VARY, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    }

    /** The fields added to the response of an actual request with {@code origin} (the header's value, or null). */
    public ReplyFields responseFields(String origin) {
        if (config == null) {
            return ReplyFields.NONE;
        }
        ReplyFields fields = ReplyFields.NONE;
        if (origin != null && allows(origin)) {
            fields = allowOrigin(fields, origin);
            if (!expose.isEmpty()) {
                fields = fields.with(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, expose);
            }
        }
        // Even without an Origin: a cache must not give this answer to a request that has one.
        return variesByOrigin ? fields.with(HttpHeaderNames.VARY, "Origin") : fields;
    }

    private ReplyFields allowOrigin(ReplyFields fields, String origin) {
        if (config.anyOrigin() && !config.credentials()) {
            return fields.with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        }
        fields = fields.with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        return config.credentials() ? fields.with(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true") : fields;
    }

    /** Whether {@code origin} is one the route allows: listed, or under a listed {@code scheme://*.domain}. */
    boolean allows(String origin) {
        if (origin == null) {
            return false;
        }
        if (config.anyOrigin()) {
            return true;
        }
        String lower = origin.toLowerCase(Locale.ROOT);
        for (String allowed : config.origins()) {
            if (allowed.equals(lower) || matchesWildcard(allowed, lower)) {
                return true;
            }
        }
        return false;
    }

    /** {@code https://*.example.com} takes {@code https://a.example.com} and {@code https://a.b.example.com}, not {@code https://example.com}. */
    private static boolean matchesWildcard(String allowed, String origin) {
        int star = allowed.indexOf("://*.");
        if (star < 0) {
            return false;
        }
        String scheme = allowed.substring(0, star + 3);
        String suffix = allowed.substring(star + 4);
        if (!origin.startsWith(scheme) || !origin.endsWith(suffix)) {
            return false;
        }
        String label = origin.substring(scheme.length(), origin.length() - suffix.length());
        return !label.isEmpty() && label.chars().noneMatch(c -> c == ':' || c == '/' || c == '@');
    }
}
