package dev.sluice.route;

import dev.sluice.config.RouteConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;
import java.util.Locale;

/** Routes in file order; the first that matches wins (as in Envoy's route table). */
public final class RouteTable {
    private final Route[] routes;
    /** Some route matches on host: otherwise the Host field is not read (nor lower-cased) per request. */
    private final boolean anyHost;

    public RouteTable(List<RouteConfig> configs) {
        this(configs, null, System::nanoTime);
    }

    /**
     * @param previous the table before a reload, or null: a route of the same name keeps its
     *     unchanged rate limits
     * @param nanoClock the clock the rate limits' buckets refill by
     */
    public RouteTable(List<RouteConfig> configs, RouteTable previous, java.util.function.LongSupplier nanoClock) {
        this.routes = configs.stream().map(c -> new Route(c, previous == null ? null : previous.named(c.name()),
                nanoClock)).toArray(Route[]::new);
        this.anyHost = java.util.Arrays.stream(routes).anyMatch(Route::matchesOnHost);
    }

    private Route named(String name) {
        for (Route route : routes) {
            if (route.name().equals(name)) {
                return route;
            }
        }
        return null;
    }

    public List<Route> routes() {
        return List.of(routes);
    }

    /** The first matching route, or null. */
    public Route match(HttpRequest request) {
        return match(request, request.headers().get(HttpHeaderNames.HOST));
    }

    /**
     * The first matching route for a request whose {@code Host} value (or null) the caller has
     * read already; the request's header map is read only by routes that match on a header.
     */
    public Route match(HttpRequest request, String hostField) {
        String host = anyHost ? hostOf(hostField) : "";
        String path = pathOf(request.uri());
        for (Route route : routes) {
            if (route.matches(request.method(), host, path, request)) {
                return route;
            }
        }
        return null;
    }

    /**
     * For a request no route matched: the methods of the routes that match it but for its method
     * (RFC 9110 §15.5.6: a 405's {@code Allow}), in file order; empty when no route matches its
     * host, path and headers, and the answer is 404. A route of any method would have matched.
     */
    public List<String> methodsFor(HttpRequest request, String hostField) {
        String host = anyHost ? hostOf(hostField) : "";
        String path = pathOf(request.uri());
        java.util.Set<String> allowed = new java.util.LinkedHashSet<>();
        for (Route route : routes) {
            if (!route.methods().isEmpty() && route.matchesExceptMethod(host, path, request)) {
                route.methods().forEach(m -> allowed.add(m.name()));
            }
        }
        return List.copyOf(allowed);
    }

    /** Host without port, lower case; "" when absent. Handles "[::1]:8080". */
    public static String hostOf(String hostHeader) {
        if (hostHeader == null || hostHeader.isEmpty()) {
            return "";
        }
        int end = hostHeader.length();
        if (hostHeader.charAt(0) == '[') {
            int close = hostHeader.indexOf(']');
            end = close < 0 ? end : close + 1;
        } else {
            int colon = hostHeader.lastIndexOf(':');
            if (colon >= 0) {
                end = colon;
            }
        }
        String host = hostHeader.substring(0, end);
        return isLowerCase(host) ? host : host.toLowerCase(Locale.ROOT);
    }

    /**
     * The path of a request target: origin-form "/a?b" gives "/a"; absolute-form
     * "http://h/a?b" (RFC 9112 §3.2.2, sent to proxies) gives "/a".
     */
    public static String pathOf(String uri) {
        int start = 0;
        if (!uri.startsWith("/")) {
            int scheme = uri.indexOf("://");
            if (scheme > 0) {
                int slash = uri.indexOf('/', scheme + 3);
                if (slash < 0) {
                    return "/";
                }
                start = slash;
            }
        }
        int query = uri.indexOf('?', start);
        int fragment = uri.indexOf('#', start);
        int end = uri.length();
        if (query >= 0) {
            end = query;
        }
        if (fragment >= 0 && fragment < end) {
            end = fragment;
        }
        return start == 0 && end == uri.length() ? uri : uri.substring(start, end);
    }

    private static boolean isLowerCase(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                return false;
            }
        }
        return true;
    }
}
