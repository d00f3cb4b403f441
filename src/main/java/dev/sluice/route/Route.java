package dev.sluice.route;

import dev.sluice.access.AccessRules;
import dev.sluice.config.HeaderRulesConfig;
import dev.sluice.config.LocalAnswerConfig;
import dev.sluice.config.MatchConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.config.UpstreamHostConfig;
import dev.sluice.resilience.RateLimits;
import dev.sluice.resilience.RetryPolicy;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A compiled route: a match over method, host, path and headers, where it sends requests (or what
 * it answers itself), its rate limits, and what it changes in what it forwards: the path, the
 * upstream {@code Host}, header fields both ways.
 */
public final class Route {
    private final RouteConfig config;
    private final String exactHost;
    /** For {@code *.example.com}: ".example.com". */
    private final String hostSuffix;
    private final String pathPrefix;
    private final String exactPath;
    private final List<HttpMethod> methods;
    private final Map.Entry<String, String>[] headers;
    private final long timeoutNanos;
    private final RetryPolicy retryPolicy;
    private final RateLimits rateLimits;
    private final PathRewrite pathRewrite;
    private final HeaderRules requestHeaders;
    private final HeaderRules responseHeaders;
    /** A redirect's {@code Location}; null for other routes. */
    private final ValueTemplate redirectTo;
    /** -1: no limit. */
    private final long maxBody;
    private final AccessRules access;
    private final Compression compression;
    private final boolean tapped;
    /** A route split across clusters: its weights now; null for a route with one cluster. */
    private final Split split;

    public Route(RouteConfig config) {
        this(config, null, System::nanoTime);
    }

    /**
     * @param previous the route of the same name in the config before a reload, or null: its
     *     rate limits that are unchanged are kept, with their keys' buckets and counts
     * @param nanoClock the clock the rate limits' buckets refill by
     */
    @SuppressWarnings("unchecked")
    public Route(RouteConfig config, Route previous, LongSupplier nanoClock) {
        this.config = config;
        MatchConfig m = config.match();
        String host = m.host().map(h -> h.toLowerCase(Locale.ROOT)).orElse(null);
        this.exactHost = host != null && !host.startsWith("*.") ? host : null;
        this.hostSuffix = host != null && host.startsWith("*.") ? host.substring(1) : null;
        this.pathPrefix = m.pathPrefix().orElse(null);
        this.exactPath = m.path().orElse(null);
        this.methods = withHeadForGet(m.methods().stream().map(HttpMethod::valueOf).toList());
        this.headers = m.headers().entrySet().toArray(new Map.Entry[0]);
        this.timeoutNanos = config.timeout().toNanos();
        this.retryPolicy = new RetryPolicy(config.retry(), null);
        this.rateLimits = RateLimits.of(config.name(), config.rateLimits(),
                previous == null ? null : previous.rateLimits, nanoClock);
        this.pathRewrite = new PathRewrite(config.rewrite(), pathPrefix);
        HeaderRulesConfig requestRules = withAuthorizationRemoved(config);
        this.requestHeaders = requestRules.isEmpty() ? HeaderRules.NONE : new HeaderRules(requestRules);
        this.responseHeaders = config.responseHeaders().isEmpty() ? HeaderRules.NONE
                : new HeaderRules(config.responseHeaders());
        this.redirectTo = config.answer().orElse(null) instanceof LocalAnswerConfig.Redirect r
                ? new ValueTemplate(r.to()) : null;
        this.maxBody = config.maxBody().orElse(-1);
        this.compression = config.compress().map(Compression::new).orElse(Compression.NONE);
        this.tapped = config.mirror().isPresent() || config.record().isPresent();
        this.access = AccessRules.of(config.access(), previous == null ? null : previous.access);
        // An unchanged split keeps its weights, so a reload for another reason never resets a canary's progress.
        this.split = config.split().map(s -> previous != null && previous.split != null
                && previous.split.config().equals(s) ? previous.split : new Split(s)).orElse(null);
    }

    /**
     * The route's request header rules, with {@code Authorization} removed first when basic auth
     * checked it and does not pass it on: the password was for Sluice. A rule of the route that
     * sets {@code Authorization} (a backend's own token) still applies, after the removal.
     */
    private static HeaderRulesConfig withAuthorizationRemoved(RouteConfig config) {
        HeaderRulesConfig rules = config.requestHeaders();
        if (config.access().basicAuth().isEmpty() || config.access().basicAuth().get().passAuthorization()) {
            return rules;
        }
        List<String> remove = new java.util.ArrayList<>(rules.remove());
        remove.addFirst("authorization");
        return new HeaderRulesConfig(remove, rules.set(), rules.add());
    }

    /** Who may use the route: checked after routing, before admission ({@code exchange.AccessCheck}). */
    public AccessRules access() {
        return access;
    }

    /** The auth service asked before a request of this route is admitted, if any. */
    public java.util.Optional<dev.sluice.config.ForwardAuthConfig> forwardAuth() {
        return config.forwardAuth();
    }

    /** Whether the route sends its requests to a cluster; otherwise it answers them itself ({@link #answer()}). */
    public boolean forwards() {
        return config.answer().isEmpty();
    }

    /** What the route answers in place of a cluster, for a route that does not {@link #forwards}. */
    public LocalAnswerConfig answer() {
        return config.answer().orElseThrow();
    }

    /** A redirect's {@code Location} for this request. */
    public String redirectLocation(Variables values) {
        return redirectTo.fill(values);
    }

    /** Whether the forwarded request's head needs its header map: header rules, or a fixed or endpoint's Host. */
    public boolean editsRequestHead() {
        return !requestHeaders.isEmpty() || !(config.host() instanceof UpstreamHostConfig.Client);
    }

    public boolean rewritesPath() {
        return pathRewrite.rewrites();
    }

    /** The request target as forwarded (see {@link PathRewrite}). */
    public String rewrittenTarget(String uri) {
        return pathRewrite.apply(uri);
    }

    public UpstreamHostConfig upstreamHost() {
        return config.host();
    }

    public HeaderRules requestHeaders() {
        return requestHeaders;
    }

    public HeaderRules responseHeaders() {
        return responseHeaders;
    }

    /** How the backend's responses are compressed; {@link Compression#NONE} when the route does not. */
    public Compression compression() {
        return compression;
    }

    /** The largest request body accepted in bytes, or -1 for any. */
    public long maxBody() {
        return maxBody;
    }

    /** Where copies of the route's requests go; empty when it mirrors nothing. */
    public java.util.Optional<dev.sluice.config.MirrorConfig> mirror() {
        return config.mirror();
    }

    /** Where the route's sampled exchanges are written; empty when it records nothing. */
    public java.util.Optional<dev.sluice.config.RecordConfig> record() {
        return config.record();
    }

    /** Whether the route mirrors or records: the exchange opens a tap only then (one test per request). */
    public boolean tapped() {
        return tapped;
    }

    /**
     * A route that takes GET takes HEAD too: a HEAD is a GET without the body (RFC 9110 §9.3.2),
     * which a GET-only route's clients (link checkers, monitors, curl -I) expect to work, as
     * nginx's {@code limit_except GET} allows it.
     */
    private static List<HttpMethod> withHeadForGet(List<HttpMethod> methods) {
        if (!methods.contains(HttpMethod.GET) || methods.contains(HttpMethod.HEAD)) {
            return methods;
        }
        List<HttpMethod> with = new java.util.ArrayList<>(methods);
        with.add(with.indexOf(HttpMethod.GET) + 1, HttpMethod.HEAD);
        return List.copyOf(with);
    }

    /** The methods the route accepts (empty: any), for a 405's {@code Allow}. */
    List<HttpMethod> methods() {
        return methods;
    }

    /** Checked in the admit step, before the cluster's concurrency. */
    public RateLimits rateLimits() {
        return rateLimits;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    public String name() {
        return config.name();
    }

    /** The route's cluster; for a split route its first backend, where the route step chooses by {@link #split()}. */
    public String cluster() {
        return config.cluster();
    }

    /** The backends and their weights now, for a route split across clusters. */
    public java.util.Optional<Split> split() {
        return java.util.Optional.ofNullable(split);
    }

    public RouteConfig config() {
        return config;
    }

    public long timeoutNanos() {
        return timeoutNanos;
    }

    /** Whether this route looks at the request's host. */
    boolean matchesOnHost() {
        return exactHost != null || hostSuffix != null;
    }

    /**
     * @param host the request's host, lower case, without port (may be empty)
     * @param path the request path without query
     */
    boolean matches(HttpMethod method, String host, String path, HttpRequest request) {
        if (!methods.isEmpty() && !methods.contains(method) && !access.cors().isPreflight(request)) {
            // A route with CORS takes the preflight of the methods it serves: Sluice answers it.
            return false;
        }
        return matchesExceptMethod(host, path, request);
    }

    /** Whether everything but the method matches: a route that would take the request by another method. */
    boolean matchesExceptMethod(String host, String path, HttpRequest request) {
        if (exactHost != null && !exactHost.equals(host)) {
            return false;
        }
        // "*.example.com" matches "a.example.com" and "a.b.example.com", never "example.com".
        if (hostSuffix != null && !(host.endsWith(hostSuffix) && host.length() > hostSuffix.length())) {
            return false;
        }
        if (exactPath != null && !exactPath.equals(path)) {
            return false;
        }
        if (pathPrefix != null && !path.startsWith(pathPrefix)) {
            return false;
        }
        for (Map.Entry<String, String> h : headers) {
            if (!h.getValue().equals(request.headers().get(h.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return name();
    }
}
