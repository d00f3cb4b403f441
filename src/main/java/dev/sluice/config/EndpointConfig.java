package dev.sluice.config;

import java.util.Map;

/**
 * One backend address, with labels for selectors and a load-balancing weight.
 *
 * @param weight relative share of traffic (default 1)
 */
public record EndpointConfig(HostPort address, Map<String, String> labels, int weight) {
    public EndpointConfig {
        labels = Map.copyOf(labels);
    }

    public EndpointConfig(HostPort address, Map<String, String> labels) {
        this(address, labels, 1);
    }

    public static EndpointConfig of(HostPort address) {
        return new EndpointConfig(address, Map.of(), 1);
    }
}
