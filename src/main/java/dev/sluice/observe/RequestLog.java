package dev.sluice.observe;

import dev.sluice.failure.FailureKind;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's timeline, in the order things happen to it: received, routed, admitted, each
 * attempt (endpoint, a reused or new connection and its age, sent, first response byte, how it
 * failed and what the retry policy decided), responded, completed. Marks are {@code nanoTime}
 * values, 0 while not reached.
 *
 * <p>Written only by the event loop that serves the request, through the methods named after
 * the events; read (by the access log and the metrics) once, after {@link #completed}.
 */
public final class RequestLog {
    /**
     * One try at an endpoint that did not end the request: it failed, or its status was retried.
     * {@code ageMillis} is the connection's age when it was taken (-1 for a new one),
     * {@code idleMillis} how long it had been idle in its pool (-1 for a new one). {@code decision}
     * is the retry policy's reason in words (the access log's), {@code decisionLabel} the same from
     * a closed set (the metrics').
     */
    public record Attempt(String endpoint, boolean reused, long idleMillis, long ageMillis, long connectNanos,
                          FailureKind failure, String decision, String decisionLabel) {}

    /**
     * Who made the status the client got: the endpoint (its response forwarded), Sluice (a
     * failure's local reply, a route's redirect or fixed response), or nobody: the client left
     * before any response ({@code 499}).
     */
    public enum StatusSource {
        BACKEND, GATEWAY, CLIENT;

        private final String label = name().toLowerCase(java.util.Locale.ROOT);

        /** The snake_case name used as the metric label. */
        public String label() {
            return label;
        }
    }

    private final long startEpochMillis;
    private final long receivedNanos;
    private String requestId;
    /** The W3C {@code traceparent} forwarded with the request (kept or started), or null. */
    private String traceparent;
    private boolean traceStarted;
    private String client;
    /** The connection's address, kept only when a trusted proxy's {@code X-Forwarded-For} named another client. */
    private String peer;
    /** The shadow rate limits that would have refused the request, comma-separated, or null. */
    private String shadowLimited;
    /** The user the route's basic auth let in; null otherwise. */
    private String user;
    private String method;
    private String userAgent;
    private String referer;
    private String host;
    private String uri;
    private String protocol;
    private String route;
    private String cluster;
    private long routedNanos;
    private long admittedNanos;
    private String endpoint;
    private boolean connectionReused;
    private long connectionIdleMillis = -1;
    private long connectionAgeMillis = -1;
    private long connectNanos;
    private long requestSentNanos;
    private long firstByteNanos;
    private int status;
    private StatusSource statusSource = StatusSource.GATEWAY;
    private int upstreamStatus;
    private FailureKind failure;
    private boolean clientAborted;
    private long doneNanos;
    private long bytesIn;
    private long bytesOut;
    private List<Attempt> attempts;
    private int attemptCount;
    /** What became of the request's mirror copy by the time it ended; null on a route without a mirror. */
    private String mirror;
    /** What waits for this log to be final (a sampled exchange's recording); null for nothing. */
    private Runnable whenFinished;

    public RequestLog(long startEpochMillis, long receivedNanos) {
        this.startEpochMillis = startEpochMillis;
        this.receivedNanos = receivedNanos;
    }

    // The events, in timeline order.

    /** The head arrived: what the client asked for. {@code method} and {@code uri} are null for a head that never came. */
    public void received(String requestId, String client, String method, String uri, String protocol, String host) {
        this.requestId = requestId;
        this.client = client;
        this.method = method;
        this.uri = uri;
        this.protocol = protocol;
        this.host = host;
    }

    /** What the client said about itself: its {@code User-Agent} and {@code Referer} (null when absent). */
    public void clientSent(String userAgent, String referer) {
        this.userAgent = userAgent;
        this.referer = referer;
    }

    /**
     * The client is {@code client}, named by a trusted proxy's {@code X-Forwarded-For}: the log
     * says so, and keeps the address the request came from as {@code peer} (as nginx's
     * {@code real_ip} module changes {@code $remote_addr} and keeps {@code $realip_remote_addr}).
     */
    public void clientIs(String client) {
        if (!client.equals(this.client)) {
            this.peer = this.client;
            this.client = client;
        }
    }

    /** A shadow rate limit would have refused the request (it counts and refuses nothing). */
    public void shadowLimited(String rule) {
        shadowLimited = shadowLimited == null ? rule : shadowLimited + "," + rule;
    }

    /** The route's basic auth let the request in as {@code user} (nginx's {@code $remote_user}). */
    public void authenticatedAs(String user) {
        this.user = user;
    }

    /** The request's host turned out to be another (an absolute-form target's authority). */
    public void hostIs(String host) {
        this.host = host;
    }

    public void requestIdIs(String requestId) {
        this.requestId = requestId;
    }

    /** The {@code traceparent} the request carries on: the client's, or one Sluice {@code started}. */
    public void traceparentIs(String traceparent, boolean started) {
        this.traceparent = traceparent;
        this.traceStarted = started;
    }

    public void routed(String route, String cluster, long now) {
        this.route = route;
        this.cluster = cluster;
        this.routedNanos = now;
    }

    public void admitted(long now) {
        this.admittedNanos = now;
    }

    /** An attempt took a connection: pooled ({@code idleMillis}, {@code ageMillis} ≥ 0) or about to be made (-1). */
    public void attemptStarted(String endpoint, boolean reused, long idleMillis, long ageMillis) {
        this.attemptCount++;
        this.endpoint = endpoint;
        this.connectionReused = reused;
        this.connectionIdleMillis = idleMillis;
        this.connectionAgeMillis = ageMillis;
        this.requestSentNanos = 0;
        this.firstByteNanos = 0;
        this.upstreamStatus = 0;
    }

    /** A new connection's connect took {@code nanos} (summed over the request's attempts). */
    public void connected(long nanos) {
        this.connectNanos += nanos;
    }

    /** The whole request reached the endpoint's socket. */
    public void sent(long now) {
        this.requestSentNanos = now;
    }

    /** The endpoint's final response head arrived. */
    public void firstByte(long now, int upstreamStatus) {
        this.firstByteNanos = now;
        this.upstreamStatus = upstreamStatus;
    }

    /**
     * The current attempt ended the request's chance with this endpoint: why, and what was
     * decided ({@code decision} in words, {@code decisionLabel} from a closed set).
     */
    public void attemptEnded(FailureKind failure, String decision, String decisionLabel) {
        if (attempts == null) {
            attempts = new ArrayList<>(2);
        }
        attempts.add(new Attempt(endpoint, connectionReused, connectionReused ? connectionIdleMillis : -1,
                connectionReused ? connectionAgeMillis : -1, connectNanos, failure, decision, decisionLabel));
        if (failure != null) {
            this.upstreamStatus = 0;
        }
    }

    /** The response status sent to the client (its head is on its way). */
    public void responded(int status) {
        this.status = status;
        // A local reply records its failure first; a forwarded response follows its endpoint's head.
        this.statusSource = firstByteNanos != 0 && failure == null ? StatusSource.BACKEND : StatusSource.GATEWAY;
    }

    /** Sluice answered (or cut the stream) with this failure. */
    public void failed(FailureKind kind) {
        this.failure = kind;
    }

    public void bodyIn(long bytes) {
        this.bytesIn += bytes;
    }

    public void bodyOut(long bytes) {
        this.bytesOut += bytes;
    }

    /**
     * The route mirrors: what became of this request's copy ({@code not_sampled}, {@code sent},
     * {@code dropped_busy}, ...: a constant label, so that logging it allocates nothing).
     */
    public void mirror(String outcome) {
        this.mirror = outcome;
    }

    /** The client went away before the response was complete. */
    public void clientWentAway() {
        this.clientAborted = true;
        if (status == 0) {
            // nginx's convention for "client closed the request before the response".
            status = 499;
            statusSource = StatusSource.CLIENT;
        }
    }

    public void completed(long now) {
        this.doneNanos = now;
    }

    /** Runs {@code action} once the exchange is over and this log says how it ended (see {@link #finished}). */
    public void whenFinished(Runnable action) {
        this.whenFinished = action;
    }

    /**
     * The exchange is over and this log is final (status, failure, end time): what waited for that
     * runs now, once. Called where the access log line is written, on the exchange's loop.
     */
    public void finished() {
        Runnable action = whenFinished;
        if (action != null) {
            whenFinished = null;
            action.run();
        }
    }

    // What happened, for the access log and the metrics.

    public long startEpochMillis() {
        return startEpochMillis;
    }

    public long receivedNanos() {
        return receivedNanos;
    }

    public String requestId() {
        return requestId;
    }

    /** The W3C {@code traceparent} the request was forwarded with, or null (a request never read). */
    public String traceparent() {
        return traceparent;
    }

    /** Whether Sluice started the {@link #traceparent()} (none came, or not a valid one). */
    public boolean traceStarted() {
        return traceStarted;
    }

    public String client() {
        return client;
    }

    public String userAgent() {
        return userAgent;
    }

    public String referer() {
        return referer;
    }

    /** The connection's address when it is not the client's (a trusted proxy's), else null. */
    public String peer() {
        return peer;
    }

    /** The shadow rate limits that would have refused the request, comma-separated, or null. */
    public String shadowLimited() {
        return shadowLimited;
    }

    /** Who basic auth let in, or null. */
    public String user() {
        return user;
    }

    public String method() {
        return method;
    }

    public String host() {
        return host;
    }

    public String uri() {
        return uri;
    }

    public String protocol() {
        return protocol;
    }

    public String route() {
        return route;
    }

    public String cluster() {
        return cluster;
    }

    public long routedNanos() {
        return routedNanos;
    }

    public long admittedNanos() {
        return admittedNanos;
    }

    public String endpoint() {
        return endpoint;
    }

    public boolean connectionReused() {
        return connectionReused;
    }

    public long connectionIdleMillis() {
        return connectionIdleMillis;
    }

    public long connectionAgeMillis() {
        return connectionAgeMillis;
    }

    public long connectNanos() {
        return connectNanos;
    }

    public long requestSentNanos() {
        return requestSentNanos;
    }

    public long firstByteNanos() {
        return firstByteNanos;
    }

    public int status() {
        return status;
    }

    /** Who made {@link #status()}; see {@link StatusSource}. */
    public StatusSource statusSource() {
        return statusSource;
    }

    public int upstreamStatus() {
        return upstreamStatus;
    }

    public FailureKind failure() {
        return failure;
    }

    /** The client went away before the response was complete. */
    public boolean clientAborted() {
        return clientAborted;
    }

    public long doneNanos() {
        return doneNanos;
    }

    public long bytesIn() {
        return bytesIn;
    }

    public long bytesOut() {
        return bytesOut;
    }

    /** What became of the request's mirror copy (see {@link #mirror(String)}), or null on a route without a mirror. */
    public String mirror() {
        return mirror;
    }

    /** The attempts that ended without ending the request (failed, or their status retried). */
    public List<Attempt> attempts() {
        return attempts == null ? List.of() : attempts;
    }

    /** Every attempt started, the one that ended the request included. */
    public int attemptCount() {
        return attemptCount;
    }

    public long totalNanos() {
        return doneNanos == 0 ? 0 : doneNanos - receivedNanos;
    }

    /** From the request's last byte reaching the endpoint to the response's last byte, or 0. */
    public long upstreamNanos() {
        return requestSentNanos == 0 || doneNanos == 0 ? 0 : doneNanos - requestSentNanos;
    }
}
