package dev.sluice.exchange;

import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;

/** The route step's answer: the route a request matched and its cluster, or why none matched. */
public sealed interface Routed {
    /** {@code cluster} is null for a route that answers by itself (a redirect, a fixed response). */
    record To(Route route, Cluster cluster) implements Routed {}

    /** Routes match the request but for its method: 405 {@code method_not_allowed} with {@code Allow: allowed}. */
    record WrongMethod(java.util.List<String> allowed) implements Routed {}

    /** No route matches the request's host, path, method and headers: 404 {@code no_route}. */
    record Nowhere() implements Routed {}

    Routed NOWHERE = new Nowhere();
}
