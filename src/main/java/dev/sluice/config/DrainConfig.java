package dev.sluice.config;

import java.time.Duration;

/**
 * How Sluice shuts down gracefully ({@code drain:}), on SIGTERM or {@code POST /drain}.
 *
 * @param delay how long Sluice keeps serving normally after {@code /ready} turns 503, so that
 *     load balancers and orchestrators notice and stop sending new connections; zero when
 *     nothing in front watches {@code /ready}
 * @param timeout how long requests in flight then get to finish before they are cut
 */
public record DrainConfig(Duration delay, Duration timeout) {
    /** 5 s: a load balancer health-checking every 1-2 s with a failure threshold of 2-3 has
     * marked the instance down by then (Kubernetes' endpoint removal also propagates in seconds). */
    public static final Duration DEFAULT_DELAY = Duration.ofSeconds(5);
    /** 30 s: Kubernetes' default terminationGracePeriodSeconds, and the default route timeout,
     * so a request that may take as long as its route allows is not cut. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    public static final DrainConfig DEFAULT = new DrainConfig(DEFAULT_DELAY, DEFAULT_TIMEOUT);

    /** The longest a drain takes before Sluice exits: what {@code terminationGracePeriodSeconds} must cover. */
    public Duration total() {
        return delay.plus(timeout);
    }
}
