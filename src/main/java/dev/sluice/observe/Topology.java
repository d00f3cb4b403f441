package dev.sluice.observe;

import java.util.List;
import java.util.Map;

/**
 * What the request counters are kept for, taken from a published snapshot: its routes (each with
 * its cluster), its clusters' endpoints, and the labels to count by. Every label value comes from
 * the config, so the number of series is bounded by it, never by traffic.
 *
 * @param routes in config order; a route that answers itself has the cluster {@code ""}
 * @param endpoints by cluster, in config order
 * @param endpointLabels whether series per endpoint are kept ({@code metrics.endpoint_labels})
 * @param retryDecisions every value of the {@code decision} label (the retry policy's closed set)
 */
public record Topology(List<RouteAndCluster> routes, Map<String, List<String>> endpoints, boolean endpointLabels,
                       List<String> retryDecisions) {
    public Topology {
        routes = List.copyOf(routes);
        endpoints = Map.copyOf(endpoints);
        retryDecisions = List.copyOf(retryDecisions);
    }

    public record RouteAndCluster(String route, String cluster) {}

    /** Nothing published yet: only requests that no route took are counted by route. */
    public static final Topology NONE = new Topology(List.of(), Map.of(), false, List.of());
}
