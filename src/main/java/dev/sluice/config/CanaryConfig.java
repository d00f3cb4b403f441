package dev.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * The canary analysis of a split route ({@code routes[].canary}): the canary's weight goes
 * through {@code steps}, each held for {@code interval}; at the end of each, the canary's
 * requests on the route are compared with the stable cluster's over the same interval. A pass
 * moves to the next step (after the last, the canary takes 100% and is promoted); a failure, or
 * too few requests to tell, sets the canary's weight to 0 at once.
 *
 * @param cluster the backend that is the canary (the other one is the stable)
 * @param steps the canary's weights in percent, rising; 100 means promoted
 * @param interval how long each step is held and judged
 * @param minRequests each of the two clusters must have had this many requests of the route in
 *     the interval, or the step fails (no data is no proof, as in Flagger)
 * @param maxErrorRatioIncrease how much the canary's error ratio (gateway failures and backend
 *     5xx over requests) may exceed the stable's, as a fraction (0.01: one percentage point)
 * @param latencyPercentile which latency percentile is compared (99: p99)
 * @param maxLatencyFactor the canary's percentile may be at most this many times the stable's…
 * @param minLatencyIncrease …unless it is above it by less than this (noise on a fast backend)
 */
public record CanaryConfig(String cluster, List<Integer> steps, Duration interval, int minRequests,
                           double maxErrorRatioIncrease, int latencyPercentile, double maxLatencyFactor,
                           Duration minLatencyIncrease) {
    /** 1 minute: Flagger's default analysis interval; enough requests to judge at a few requests a second. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);
    /** 20: below it one failed request moves the ratio by more than 5%, which judges noise, not the version. */
    public static final int DEFAULT_MIN_REQUESTS = 20;
    /** 0.01: a canary may fail one request in a hundred more than the stable before it is rolled back. */
    public static final double DEFAULT_MAX_ERROR_RATIO_INCREASE = 0.01;
    /** p99: the tail is where a slower version shows first, as in the incidents' latency rule. */
    public static final int DEFAULT_LATENCY_PERCENTILE = 99;
    /** 1.5: half again the stable's latency is a regression users notice; less is within the noise of a window. */
    public static final double DEFAULT_MAX_LATENCY_FACTOR = 1.5;
    /** 10 ms: on a backend answering in a millisecond, a factor alone would judge scheduling noise. */
    public static final Duration DEFAULT_MIN_LATENCY_INCREASE = Duration.ofMillis(10);
    /** 100 ms: shorter intervals hold too few requests to judge (tests use 200-500 ms). */
    public static final Duration LEAST_INTERVAL = Duration.ofMillis(100);

    public CanaryConfig {
        steps = List.copyOf(steps);
    }

    /** The step whose weight is {@code weight}, or -1 (0: not running; 100: promoted). */
    public int stepOf(int weight) {
        return steps.indexOf(weight);
    }
}
