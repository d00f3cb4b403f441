package dev.sluice.config;

import java.time.Duration;

/**
 * When Sluice opens and closes an incident on a cluster ({@code incidents:}). An incident opens
 * when, over the last {@code window}, what Sluice saw fail is both above {@code errorRatio} and
 * {@code overBaseline} times the cluster's own recent ratio (or its p99 latency both above
 * {@code latencyP99} and {@code overBaseline} times its recent p99), or when one endpoint's recent
 * tries mostly fail; it closes once the cluster has stayed below them, with the endpoints it named
 * back in rotation, for {@code closeAfter}.
 *
 * @param enabled false: no incidents, no alerts (the dashboard still shows traffic)
 * @param window how far back the error ratio and latency are measured
 * @param errorRatio the absolute part of the threshold: failed tries over tries, from 0 to 1
 * @param overBaseline the relative part: how many times the cluster's recent ratio (and p99) it must also be
 * @param latencyP99 the absolute part of the latency threshold
 * @param minRequests tries a window needs before its ratio means anything
 * @param closeAfter how long a cluster must stay recovered before its incident closes
 */
public record IncidentsConfig(boolean enabled, Duration window, double errorRatio, double overBaseline,
                              Duration latencyP99, int minRequests, Duration closeAfter) {
    /** 10 s: one bad second of ten is already 10%, so a dead backend opens an incident within two
     * evaluations (well inside 5 s), while a single slow or failing second does not. */
    public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(10);
    /** 5%: the share of failures a retrying client or a user notices; below it a flaky backend is
     * a ticket, not an incident. */
    public static final double DEFAULT_ERROR_RATIO = 0.05;
    /** 3×: a cluster that always fails 4% must reach 12% before it is an incident, and one at 0%
     * still needs the absolute 5%; the two together keep both quiet and noisy clusters honest. */
    public static final double DEFAULT_OVER_BASELINE = 3;
    /** 1 s: latency that a person waiting on a page notices; slower clusters count from their own
     * baseline (3× their usual p99), so a report service at 5 s is not in an incident forever. */
    public static final Duration DEFAULT_LATENCY_P99 = Duration.ofSeconds(1);
    /** 20 tries: two failures of the first ten after a quiet night are not a 20% outage. */
    public static final int DEFAULT_MIN_REQUESTS = 20;
    /** 30 s: long enough that an endpoint coming and going (re-ejected every few seconds) stays one
     * incident with one pair of alerts, short enough that "closed" follows a fix within a minute. */
    public static final Duration DEFAULT_CLOSE_AFTER = Duration.ofSeconds(30);
    /** 1 h: longer windows hide the start of an outage behind an hour of good traffic. */
    public static final Duration MOST_WINDOW = Duration.ofHours(1);

    public static final IncidentsConfig DEFAULT = new IncidentsConfig(true, DEFAULT_WINDOW, DEFAULT_ERROR_RATIO,
            DEFAULT_OVER_BASELINE, DEFAULT_LATENCY_P99, DEFAULT_MIN_REQUESTS, DEFAULT_CLOSE_AFTER);

    public IncidentsConfig {
        // The binder reports these at their line; here they guard records built in code.
        if (window.toSeconds() < 1 || window.compareTo(MOST_WINDOW) > 0) {
            throw new IllegalArgumentException("incidents window " + window + " must be from 1s to " + MOST_WINDOW);
        }
        if (!(errorRatio > 0 && errorRatio <= 1)) {
            throw new IllegalArgumentException("incidents error_ratio " + errorRatio + " must be above 0 and at most 1");
        }
        if (!(overBaseline >= 1)) {
            throw new IllegalArgumentException("incidents over_baseline " + overBaseline + " must be at least 1");
        }
        if (!latencyP99.isPositive() || !closeAfter.isPositive() || minRequests < 1) {
            throw new IllegalArgumentException("incidents latency_p99, close_after and min_requests must be positive");
        }
    }
}
