package dev.sluice.exchange;

import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;

/** The route step's answer: the route a request matched and its cluster, or that none matched. */
public sealed interface Routed {
    record To(Route route, Cluster cluster) implements Routed {}

    /** No route matches the request's host, path, method and headers: 404 {@code no_route}. */
    record Nowhere() implements Routed {}

    Routed NOWHERE = new Nowhere();
}
