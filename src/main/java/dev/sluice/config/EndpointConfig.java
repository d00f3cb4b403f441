package dev.sluice.config;

import java.util.Map;

/** One backend address, with labels for selectors. */
public record EndpointConfig(HostPort address, Map<String, String> labels) {
    public EndpointConfig {
        labels = Map.copyOf(labels);
    }

    public static EndpointConfig of(HostPort address) {
        return new EndpointConfig(address, Map.of());
    }
}
