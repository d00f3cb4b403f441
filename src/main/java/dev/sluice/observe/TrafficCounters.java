package dev.sluice.observe;

/**
 * Totals the control plane reads to judge a config version: requests served, and how many of
 * them Sluice answered itself with an error (a local reply carrying {@code x-sluice-error}).
 * Read twice, at the start and end of a bake period, and subtracted.
 */
public interface TrafficCounters {
    /** No counters: versions are judged on time alone. */
    TrafficCounters NONE = new TrafficCounters() {
        @Override
        public boolean available() {
            return false;
        }

        @Override
        public long requests() {
            return 0;
        }

        @Override
        public long localReplies() {
            return 0;
        }
    };

    /** The gateway's own counters: every answered request, and those that ended in a gateway-generated failure. */
    static TrafficCounters of(GatewayMetrics metrics) {
        return new TrafficCounters() {
            @Override
            public boolean available() {
                return true;
            }

            @Override
            public long requests() {
                return metrics.requests();
            }

            @Override
            public long localReplies() {
                return metrics.gatewayFailures();
            }
        };
    }

    boolean available();

    long requests();

    long localReplies();
}
