package dev.sluice.config;

import java.time.Duration;

/**
 * A route ({@code routes[]}): the first route whose match accepts a request sends it to its cluster.
 *
 * @param name defaults to {@code route-N} (1-based position in the file)
 * @param timeout how long to wait for the response head once the request is fully received,
 *     across all attempts: retries never stretch a request past it
 * @param retry retry tuning; {@link RetryConfig#DEFAULT} when not given
 */
public record RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry) {

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout) {
        this(name, match, cluster, timeout, RetryConfig.DEFAULT);
    }

    /** 30 s: long enough for slow reports and uploads' processing, short enough that a hung
     * backend gives an honest 504 before most clients give up on their own. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
}
