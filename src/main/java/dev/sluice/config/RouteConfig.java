package dev.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * A route ({@code routes[]}): the first route whose match accepts a request sends it to its cluster.
 *
 * @param name defaults to {@code route-N} (1-based position in the file)
 * @param timeout how long to wait for the response head once the request is fully received,
 *     across all attempts: retries never stretch a request past it
 * @param retry retry tuning; {@link RetryConfig#DEFAULT} when not given
 * @param rateLimits the route's rate limits, checked in order before the cluster's concurrency;
 *     none by default
 */
public record RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                          List<RateLimitConfig> rateLimits) {

    public RouteConfig {
        rateLimits = List.copyOf(rateLimits);
    }

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry) {
        this(name, match, cluster, timeout, retry, List.of());
    }

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout) {
        this(name, match, cluster, timeout, RetryConfig.DEFAULT);
    }

    /** 30 s: long enough for slow reports and uploads' processing, short enough that a hung
     * backend gives an honest 504 before most clients give up on their own. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
}
