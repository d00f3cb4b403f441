package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A route ({@code routes[]}): the first route whose match accepts a request sends it to its cluster.
 *
 * @param name defaults to {@code route-N} (1-based position in the file)
 * @param timeout how long to wait for the response head once the request is fully received,
 *     across all attempts: retries never stretch a request past it
 * @param retry retry tuning; {@link RetryConfig#DEFAULT} when not given
 * @param rateLimits the route's rate limits, checked in order before the cluster's concurrency;
 *     none by default
 * @param cluster where the route sends requests; {@code ""} for a route that answers them itself
 *     ({@code answer})
 * @param rewrite how the path is changed before forwarding; {@link PathRewriteConfig#NONE} by default
 * @param host the {@code Host} sent to the endpoint; the client's by default
 * @param requestHeaders edits of the forwarded request's fields
 * @param responseHeaders edits of the response's fields (a backend's, or the route's own answer)
 * @param answer a redirect or fixed response answered by Sluice, in place of a cluster
 * @param maxBody the largest request body accepted, in bytes (413 beyond); none when empty
 * @param access who may use the route (addresses, credentials, CORS); {@link AccessConfig#OPEN} by default
 * @param forwardAuth the auth service asked after the access rules, before a request is admitted; none by default
 * @param compress how the backend's responses are compressed for clients that accept it; none when empty
 * @param mirror where copies of the route's requests go (a staging cluster); none when empty
 * @param record where the route's sampled exchanges are written; none when empty
 * @param split the weighted backends ({@code backends}) of a route split across clusters; then
 *     {@code cluster} is the first backend's name, and the route step chooses per request
 */
public record RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                          List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                          HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                          Optional<LocalAnswerConfig> answer, OptionalLong maxBody, AccessConfig access,
                          Optional<ForwardAuthConfig> forwardAuth, Optional<CompressionConfig> compress,
                          Optional<MirrorConfig> mirror, Optional<RecordConfig> record, Optional<SplitConfig> split) {

    public RouteConfig {
        rateLimits = List.copyOf(rateLimits);
    }

    /** One cluster, no split. */
    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                       HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                       Optional<LocalAnswerConfig> answer, OptionalLong maxBody, AccessConfig access,
                       Optional<ForwardAuthConfig> forwardAuth, Optional<CompressionConfig> compress,
                       Optional<MirrorConfig> mirror, Optional<RecordConfig> record) {
        this(name, match, cluster, timeout, retry, rateLimits, rewrite, host, requestHeaders, responseHeaders, answer,
                maxBody, access, forwardAuth, compress, mirror, record, Optional.empty());
    }

    /** Every cluster the route may send a request to: its backends, or its one cluster. */
    public List<String> clusters() {
        return split.map(s -> s.backends().stream().map(SplitConfig.Backend::cluster).toList())
                .orElse(cluster.isEmpty() ? List.of() : List.of(cluster));
    }

    /** Without mirror and recording. */
    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                       HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                       Optional<LocalAnswerConfig> answer, OptionalLong maxBody, AccessConfig access,
                       Optional<ForwardAuthConfig> forwardAuth, Optional<CompressionConfig> compress) {
        this(name, match, cluster, timeout, retry, rateLimits, rewrite, host, requestHeaders, responseHeaders, answer,
                maxBody, access, forwardAuth, compress, Optional.empty(), Optional.empty());
    }

    /** Without compression. */
    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                       HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                       Optional<LocalAnswerConfig> answer, OptionalLong maxBody, AccessConfig access,
                       Optional<ForwardAuthConfig> forwardAuth) {
        this(name, match, cluster, timeout, retry, rateLimits, rewrite, host, requestHeaders, responseHeaders, answer,
                maxBody, access, forwardAuth, Optional.empty());
    }

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                       HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                       Optional<LocalAnswerConfig> answer, OptionalLong maxBody, AccessConfig access) {
        this(name, match, cluster, timeout, retry, rateLimits, rewrite, host, requestHeaders, responseHeaders, answer,
                maxBody, access, Optional.empty());
    }

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits, PathRewriteConfig rewrite, UpstreamHostConfig host,
                       HeaderRulesConfig requestHeaders, HeaderRulesConfig responseHeaders,
                       Optional<LocalAnswerConfig> answer, OptionalLong maxBody) {
        this(name, match, cluster, timeout, retry, rateLimits, rewrite, host, requestHeaders, responseHeaders, answer,
                maxBody, AccessConfig.OPEN);
    }

    public RouteConfig(String name, MatchConfig match, String cluster, Duration timeout, RetryConfig retry,
                       List<RateLimitConfig> rateLimits) {
        this(name, match, cluster, timeout, retry, rateLimits, PathRewriteConfig.NONE, UpstreamHostConfig.CLIENT,
                HeaderRulesConfig.NONE, HeaderRulesConfig.NONE, Optional.empty(), OptionalLong.empty());
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
