package dev.sluice.config;

/**
 * What {@code GET /metrics} exports ({@code metrics:}).
 *
 * @param endpointLabels whether the series per endpoint ({@code endpoint} label) are exported
 */
public record MetricsConfig(boolean endpointLabels) {
    /**
     * Endpoint labels on: clusters are usually a handful of endpoints, and which endpoint fails is
     * the first question of an incident. A cluster of hundreds (discovered pods) multiplies every
     * per-endpoint series by as many; turn them off there and read the per-cluster ones.
     */
    public static final MetricsConfig DEFAULT = new MetricsConfig(true);
}
