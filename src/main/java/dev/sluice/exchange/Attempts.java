package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.observe.RequestLog;
import dev.sluice.resilience.RetryDecision;
import dev.sluice.resilience.RetryPolicy;
import dev.sluice.upstream.Affinity;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.Http2Pool;
import dev.sluice.upstream.UpstreamConnection;
import io.netty.util.concurrent.Future;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;

/**
 * A request's attempts at its cluster: the endpoints it tried, the retries it made, what failed
 * last, and the one deadline all of them share. It turns a failed attempt, or a backend status
 * the route retries, into the route's {@link RetryPolicy} decision, recording the endpoint's
 * passive health and the attempt's end in the log on the way; the exchange acts on the decision.
 * Made when the request is admitted; used on the request's loop only.
 */
final class Attempts {
    /** Where an attempt's connection goes: the exchange, on the request's loop. */
    interface Connections {
        /** The attempt has its connection, pooled or new. */
        void acquired(UpstreamConnection connection);

        /** The attempt could not start or connect: no endpoint to pick ({@code endpoint} null), or the connect failed. */
        void notAcquired(FailureKind kind, Endpoint endpoint);

        /** The exchange ended while connecting: a connection that opens late is closed. */
        boolean ended();
    }

    private final ExchangeContext context;
    private final Connections connections;
    private final Cluster cluster;
    private final RetryPolicy policy;
    private final RequestLog log;
    private final HttpMethod method;
    /** The client sent an {@code Idempotency-Key}: its request may be repeated like an idempotent one. */
    private final boolean idempotencyKey;
    /** What the request brings to a sticky cluster's pick. */
    private final Affinity affinity;
    private long triedEndpoints;
    private FailureKind lastFailure;
    private int retries;
    /** An attempt failed on a reused connection: every later attempt gets a new one (see {@link Acquire#from}). */
    private boolean freshConnectionsOnly;
    /** When the route's timeout runs out (set once the whole request is sent); 0 before. */
    private long deadlineNanos;
    private long connectStartedNanos;

    Attempts(ExchangeContext context, Connections connections, Cluster cluster, RetryPolicy policy, RequestLog log,
             HttpMethod method, boolean idempotencyKey, Affinity affinity) {
        this.context = context;
        this.connections = connections;
        this.cluster = cluster;
        this.policy = policy;
        this.log = log;
        this.method = method;
        this.idempotencyKey = idempotencyKey;
        this.affinity = affinity;
    }

    /**
     * The pick and acquire steps of the next attempt: an endpoint (which counts as tried), then a
     * pooled connection to it or a new one; the outcome goes to {@link Connections}.
     *
     * @param bodyReplayable a failure after sending could be retried as far as the body goes
     */
    void start(boolean bodyReplayable, long now) {
        Endpoint endpoint;
        switch (Pick.next(cluster, triedEndpoints, retries, lastFailure, affinity, now)) {
            case Pick.None none -> {
                connections.notAcquired(none.why(), null);
                return;
            }
            case Pick.To to -> endpoint = to.endpoint();
        }
        triedEndpoints |= cluster.bitOf(endpoint);
        if (cluster.config().protocol().multiplexed()) {
            stream(endpoint, freshConnectionsOnly);
            return;
        }
        var pool = context.pools().pool(endpoint, cluster.config().maxIdlePerEndpoint());
        boolean retryableOnceSent = bodyReplayable && RetryPolicy.isIdempotent(method, idempotencyKey);
        switch (Acquire.from(pool, endpoint, freshConnectionsOnly, retryableOnceSent, now)) {
            case Acquire.Pooled pooled -> {
                UpstreamConnection connection = pooled.connection();
                log.attemptStarted(endpoint.address(), true, (now - connection.idleSinceNanos()) / 1_000_000,
                        (now - connection.createdNanos()) / 1_000_000);
                connections.acquired(connection);
            }
            case Acquire.Connect connect -> connect(endpoint);
        }
    }

    /** Opens a new connection to {@code endpoint} (over TLS for a cluster with it), within the cluster's connect timeout. */
    void connect(Endpoint endpoint) {
        if (cluster.config().protocol().multiplexed()) {
            stream(endpoint, true);
            return;
        }
        connectStartedNanos = context.nanoTime();
        log.attemptStarted(endpoint.address(), false, -1, -1);
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, cluster.config().connectTimeout().toMillis());
        context.connector().connect(context.loop(), endpoint, timeoutMillis, cluster.tls())
                .addListener((Future<UpstreamConnection> f) -> connected(endpoint, f));
    }

    private void connected(Endpoint endpoint, Future<UpstreamConnection> f) {
        if (connections.ended()) {
            // The exchange ended (client gone, timeout) while connecting.
            if (f.isSuccess()) {
                f.getNow().close();
            }
            return;
        }
        log.connected(context.nanoTime() - connectStartedNanos);
        if (f.isSuccess()) {
            connections.acquired(f.getNow());
            return;
        }
        connections.notAcquired(FailureKind.ofConnectFailure(f.cause(), appRunning()), endpoint);
    }

    /**
     * The acquire step of an HTTP/2 cluster: a stream on this loop's connection to {@code endpoint}
     * that has room, or on a new one ({@code fresh}: after a failure on a shared connection). A
     * stream that could not be opened on a connection already open is as a pooled connection found
     * closed: tried again on a new one.
     */
    private void stream(Endpoint endpoint, boolean fresh) {
        Http2Pool pool = context.pools().http2(endpoint);
        boolean shared = !fresh && pool.hasRoom();
        connectStartedNanos = context.nanoTime();
        log.attemptStarted(endpoint.address(), shared, -1, -1);
        pool.stream(fresh, cluster, context.connector()).addListener((Future<UpstreamConnection> f) -> {
            if (connections.ended()) {
                if (f.isSuccess()) {
                    f.getNow().close();
                }
                return;
            }
            if (!shared) {
                log.connected(context.nanoTime() - connectStartedNanos);
            }
            if (f.isSuccess()) {
                connections.acquired(f.getNow());
            } else {
                connections.notAcquired(shared ? FailureKind.CLOSED_BEFORE_SEND
                        : f.cause() instanceof io.netty.handler.codec.http2.Http2Exception
                        // It answered HTTP/2's preface with something else (an HTTP/1.1 server).
                        ? FailureKind.BAD_RESPONSE
                        : FailureKind.ofConnectFailure(f.cause(), appRunning()), endpoint);
            }
        });
    }

    /** True when the cluster is an app whose process lives and was ready: a failed connect is then its full accept queue. */
    private boolean appRunning() {
        return cluster.config().app().isPresent()
                && context.apps().app(cluster.name()).map(dev.sluice.apps.AppSupervisor::running).orElse(false);
    }

    /**
     * The next attempt, after {@code delayNanos} unless the exchange ended meanwhile: to
     * {@code sameEndpoint} on a fresh connection, or as the balancer picks ({@code pick}).
     */
    void retryAfter(long delayNanos, Endpoint sameEndpoint, Runnable pick) {
        Runnable attempt = sameEndpoint != null ? () -> connect(sameEndpoint) : pick;
        if (delayNanos <= 0) {
            attempt.run();
            return;
        }
        context.loop().schedule(() -> {
            if (!connections.ended()) {
                attempt.run();
            }
        }, delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /**
     * The {@code Set-Cookie} value that keeps the client on {@code served}, when the cluster sticks
     * by cookie and the request's cookie named another endpoint or none; else null.
     */
    String stickyCookie(Endpoint served) {
        return cluster.stickyCookie(served, affinity);
    }

    /** The whole request went out: the route's timeout starts, once for every attempt (retries never stretch it). */
    long sent(long now, long timeoutNanos) {
        if (deadlineNanos == 0) {
            deadlineNanos = now + timeoutNanos;
        }
        return deadlineNanos;
    }

    /**
     * Why an attempt's connection closed under it: before the head was written (nothing of the
     * request left Sluice, so a retry is safe), a TLS alert before any response (with TLS 1.3 an
     * endpoint refuses a client certificate after Sluice's handshake is done, so its application
     * never read the request), mid-response, or before any response; or an HTTP/2 stream the
     * endpoint refused unprocessed (GOAWAY, REFUSED_STREAM), whose request may be sent again.
     */
    static FailureKind closedKind(boolean headWritten, boolean responseStarted, Throwable cause) {
        if (!headWritten) {
            return FailureKind.CLOSED_BEFORE_SEND;
        }
        if (responseStarted) {
            return FailureKind.RESPONSE_TRUNCATED;
        }
        if (UpstreamConnection.streamRefused(cause)) {
            return FailureKind.STREAM_REFUSED;
        }
        return FailureKind.ofConnectFailure(cause) == FailureKind.UPSTREAM_TLS_FAILED
                ? FailureKind.UPSTREAM_TLS_FAILED : FailureKind.RESET_BEFORE_RESPONSE;
    }

    /**
     * A pooled connection that was dead before the request's head could go out, or a shared
     * HTTP/2 connection whose endpoint refused the stream unprocessed (it is going away): the retry
     * goes to the same endpoint on a new connection and does not count against the retries.
     */
    static boolean pooledDeath(FailureKind kind, boolean reused) {
        return (kind == FailureKind.CLOSED_BEFORE_SEND || kind == FailureKind.STREAM_REFUSED) && reused;
    }

    /**
     * One attempt failed: the endpoint's passive health learns of it (unless the connection died
     * in the pool, or the response was malformed), the policy decides, and a retry is counted.
     *
     * @param bodyReplayable the body sent so far can be sent again
     * @param responseStarted a part of the response reached the client
     */
    RetryDecision failed(FailureKind kind, Endpoint endpoint, boolean reused, boolean bodyReplayable,
                         boolean responseStarted, long now) {
        boolean pooledDeath = pooledDeath(kind, reused);
        if (!pooledDeath && kind != FailureKind.BAD_RESPONSE) {
            endpoint.recordFailure(now, cluster.mayEject(now));
        }
        lastFailure = kind;
        if (reused) {
            freshConnectionsOnly = true;
        }
        RetryDecision decision = policy.decide(kind, attempted(reused, bodyReplayable, responseStarted, now),
                cluster.retryBudget(), now);
        log.attemptEnded(kind, decision.reason(), decision.why().label());
        if (decision.retries() && !pooledDeath) {
            retries++;
        }
        return decision;
    }

    /**
     * The endpoint answered with a status the route retries: the policy decides whether this
     * response is dropped and the request sent again; null when the route does not retry it. The
     * head's field map is made (its {@code Retry-After} read) only then: a response forwarded
     * verbatim never has one.
     */
    RetryDecision answered(HttpResponse head, boolean reused, boolean bodyReplayable, boolean responseStarted,
                           long now) {
        int status = head.status().code();
        if (!policy.retriesStatus(status)) {
            return null;
        }
        RetryDecision decision = policy.decideOnStatus(status, RetryPolicy.retryAfterNanos(head.headers()),
                attempted(reused, bodyReplayable, responseStarted, now), cluster.retryBudget(), now);
        log.attemptEnded(null, decision.reason(), decision.why().label());
        if (decision.retries()) {
            retries++;
            lastFailure = null;
        }
        return decision;
    }

    private RetryPolicy.Attempted attempted(boolean reused, boolean bodyReplayable, boolean responseStarted, long now) {
        boolean endpointsLeft = Long.bitCount(triedEndpoints) < cluster.size();
        return new RetryPolicy.Attempted(method, idempotencyKey, bodyReplayable, responseStarted, retries,
                endpointsLeft, reused, deadlineNanos == 0 ? Long.MAX_VALUE : deadlineNanos - now);
    }
}
