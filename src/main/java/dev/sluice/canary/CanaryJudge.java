package dev.sluice.canary;

import dev.sluice.config.CanaryConfig;
import dev.sluice.observe.ClusterTallies;
import java.util.Locale;

/**
 * Judges one step of a canary: the canary's requests on the route against the stable's over the
 * same interval. A pure function of the two windows and the thresholds; tests call it with
 * hand-made windows.
 */
final class CanaryJudge {
    private CanaryJudge() {}

    /**
     * One cluster's requests of the route over a step's interval.
     *
     * @param requests requests that ended on the cluster
     * @param gatewayFailures those Sluice answered with its own error (no answer, a reset, a timeout)
     * @param backend5xx those the cluster answered with a 5xx
     * @param latency requests by latency bucket ({@link ClusterTallies#LATENCY_BUCKETS})
     */
    record Window(long requests, long gatewayFailures, long backend5xx, long[] latency) {
        static final Window EMPTY = new Window(0, 0, 0, new long[ClusterTallies.LATENCY_BUCKETS]);

        static Window of(ClusterTallies.Named route) {
            return route == null ? EMPTY
                    : new Window(route.tries(), route.gatewayFailures(), route.backend5xx(), route.latency());
        }

        /** What happened between {@code earlier} and this window's totals. */
        Window minus(Window earlier) {
            long[] l = latency.clone();
            for (int i = 0; i < l.length; i++) {
                l[i] -= earlier.latency[i];
            }
            return new Window(requests - earlier.requests, gatewayFailures - earlier.gatewayFailures,
                    backend5xx - earlier.backend5xx, l);
        }

        /** The requests a client saw fail: Sluice's own errors and the backend's 5xx. */
        double errorRatio() {
            return requests <= 0 ? 0 : (double) Math.max(0, gatewayFailures + backend5xx) / requests;
        }

        long percentileNanos(int percentile) {
            return ClusterTallies.percentileNanos(latency, percentile / 100.0);
        }
    }

    /**
     * The figures a step was judged on, for {@code GET /canaries} and the dashboard: each side's
     * requests, error ratio and latency percentile over the step's interval (the thresholds they
     * were held to are the run's config).
     */
    record Analysis(long canaryRequests, long stableRequests, double canaryErrorRatio, double stableErrorRatio,
                    int percentile, long canaryLatencyNanos, long stableLatencyNanos) {
        static Analysis of(CanaryConfig config, Window canary, Window stable) {
            int p = config.latencyPercentile();
            return new Analysis(canary.requests(), stable.requests(), canary.errorRatio(), stable.errorRatio(), p,
                    canary.percentileNanos(p), stable.percentileNanos(p));
        }
    }

    /** Which threshold a failed step missed (its name in the config, as the admin API and the page show it). */
    enum Check {
        MIN_REQUESTS, MAX_ERROR_RATIO_INCREASE, LATENCY;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A step's verdict, with the figures it was reached on. */
    sealed interface Judgement {
        String text();

        Analysis analysis();

        record Pass(String text, Analysis analysis) implements Judgement {}

        record Fail(Check missed, String text, Analysis analysis) implements Judgement {}
    }

    static Judgement judge(CanaryConfig config, Window canary, Window stable) {
        Analysis analysis = Analysis.of(config, canary, stable);
        if (canary.requests() < config.minRequests() || stable.requests() < config.minRequests()) {
            // No data is no proof (Flagger's rule): a canary nobody used has not shown it works.
            return new Judgement.Fail(Check.MIN_REQUESTS, "too few requests to judge: the canary had "
                    + canary.requests() + " and the stable " + stable.requests() + ", each needs min_requests "
                    + config.minRequests(), analysis);
        }
        double increase = canary.errorRatio() - stable.errorRatio();
        if (increase > config.maxErrorRatioIncrease()) {
            return new Judgement.Fail(Check.MAX_ERROR_RATIO_INCREASE, "error ratio " + percent(canary.errorRatio())
                    + " (" + canary.gatewayFailures() + " gateway failures and " + canary.backend5xx()
                    + " backend 5xx in " + canary.requests() + " requests) against the stable's "
                    + percent(stable.errorRatio()) + ": more than " + percent(config.maxErrorRatioIncrease())
                    + " above it", analysis);
        }
        int p = config.latencyPercentile();
        long canaryLatency = analysis.canaryLatencyNanos();
        long stableLatency = analysis.stableLatencyNanos();
        if (canaryLatency > stableLatency * config.maxLatencyFactor()
                && canaryLatency - stableLatency > config.minLatencyIncrease().toNanos()) {
            return new Judgement.Fail(Check.LATENCY, "p" + p + " latency " + millis(canaryLatency)
                    + " against the stable's " + millis(stableLatency) + ": more than " + config.maxLatencyFactor()
                    + " times it", analysis);
        }
        return new Judgement.Pass("error ratio " + percent(canary.errorRatio()) + " against " + percent(stable.errorRatio())
                + ", p" + p + " " + millis(canaryLatency) + " against " + millis(stableLatency) + ", "
                + canary.requests() + " requests against " + stable.requests(), analysis);
    }

    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.1fms", nanos / 1e6);
    }
}
