package dev.sluice.failure;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Why a request failed, when the failure was Sluice's to report. A closed set: every local
 * reply, access-log {@code failure} field, {@code x-sluice-error} header and metric label comes
 * from exactly one of these kinds, and switches over it are exhaustive.
 *
 * <p>{@code unprocessed} is a guarantee, in the sense of Armeria's
 * {@code UnprocessedRequestException}: the request certainly never reached an application, so
 * sending it elsewhere is safe whatever its method.
 */
public enum FailureKind {
    NO_ROUTE(404, true, "no route matched the request"),
    /** Routes match the request's host and path but not its method; the reply's {@code Allow} lists theirs. */
    METHOD_NOT_ALLOWED(405, true, "routes match this path, but not with this method"),
    /**
     * The body is larger than the route's {@code max_body}. Refused before forwarding when
     * {@code Content-Length} says so; a chunked body is cut where it crosses the limit, after its
     * first parts may have gone to the endpoint, which then sees an incomplete request.
     */
    REQUEST_TOO_LARGE(413, false, "the request body is larger than the route allows"),
    NO_HEALTHY_ENDPOINT(503, true, "every endpoint of the cluster is down, ejected or draining"),
    CONNECT_REFUSED(502, true, "nothing listens at the endpoint (the application is not running)"),
    CONNECT_TIMEOUT(504, true, "the TCP connection to the endpoint did not open in time"),
    /** The endpoint's certificate is untrusted, expired or for another name, or it does not speak TLS ({@code clusters[].tls}). */
    UPSTREAM_TLS_FAILED(502, true, "the TLS handshake with the endpoint failed (certificate untrusted, expired or for another name, or no TLS there)"),
    CONNECT_BACKLOG_FULL(503, true, "the endpoint's accept queue is full (the application is overloaded, not stopped)"),
    /** Never shown to a client: the request is reissued on a fresh connection. */
    CLOSED_BEFORE_SEND(502, true, "a pooled connection was found closed before any request byte was written"),
    /**
     * Over HTTP/2: a GOAWAY whose last stream id is below the request's stream, or RST_STREAM
     * REFUSED_STREAM, which say the endpoint did not process it (RFC 9113 §8.7): sent again like
     * a request on a pooled connection found closed.
     */
    STREAM_REFUSED(502, true, "the endpoint refused the HTTP/2 stream before processing it (GOAWAY or REFUSED_STREAM)"),
    RESET_BEFORE_RESPONSE(502, false, "the request was written, then the connection closed before any response byte"),
    RESPONSE_TIMEOUT(504, false, "no response header arrived within the route's timeout"),
    /** The client sees a cut stream, not a status: the response head was already sent. */
    RESPONSE_TRUNCATED(502, false, "the endpoint closed the connection in the middle of its response"),
    BAD_RESPONSE(502, false, "the endpoint sent a malformed or ambiguous HTTP response"),
    OVERLOADED(503, true, "Sluice shed the request to protect the cluster (concurrency limit or queue timeout)"),
    RATE_LIMITED(429, true, "the client exceeded its request rate"),
    /**
     * The route's {@code allow_ips} / {@code deny_ips} refuse the client, or its {@code cors} the
     * preflight's origin; or its {@code forward_auth} service answered 403, passed on as it came.
     */
    ACCESS_DENIED(403, true, "the route's access rules refuse this client's address, or this origin's preflight"),
    /**
     * The route's {@code basic_auth} found no credentials or wrong ones; the reply carries
     * {@code WWW-Authenticate}. Or its {@code forward_auth} service answered 401, passed on as it came.
     */
    UNAUTHENTICATED(401, true, "the route needs a user name and password, and the request had none or wrong ones"),
    APP_STARTING_TIMEOUT(503, true, "the on-demand application did not become ready in time"),
    /** The app exited or failed its readiness check; its next start waits out the backoff, so the request is refused at once. */
    APP_CRASH_LOOP(503, true, "the on-demand application keeps exiting; its next start waits for the backoff"),
    BAD_REQUEST(400, true, "the request is malformed or ambiguous and was not forwarded"),
    REQUEST_LINE_TOO_LONG(414, true, "the request line is longer than the listener allows"),
    HEADERS_TOO_LARGE(431, true, "the request headers exceed the listener's size or count limit"),
    REQUEST_HEADER_TIMEOUT(408, true, "the client did not finish sending the request headers in time"),
    /** The client stopped sending in the middle of a body; the endpoint saw an incomplete request. */
    REQUEST_BODY_TIMEOUT(408, false, "the client stopped sending the request body"),
    /**
     * The route's auth service answered with another status (a redirect to its login page, a 429),
     * which the client gets as it came; 403 is only the status of the kind itself.
     */
    AUTH_DENIED(403, true, "the route's auth service refused the request"),
    /** The auth service could not be asked or failed to decide (refused, reset, a 5xx or a malformed answer). */
    AUTH_UNAVAILABLE(503, true, "the route's auth service could not decide; the request was not forwarded"),
    AUTH_TIMEOUT(504, true, "the route's auth service did not answer within forward_auth.timeout; the request was not forwarded");

    private final HttpResponseStatus status;
    private final boolean unprocessed;
    private final String explanation;
    private final String label;

    FailureKind(int status, boolean unprocessed, String explanation) {
        this.status = HttpResponseStatus.valueOf(status);
        this.unprocessed = unprocessed;
        this.explanation = explanation;
        this.label = name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The status a client receives when this failure ends its request. */
    public HttpResponseStatus status() {
        return status;
    }

    /** True when the request provably never reached an application. */
    public boolean unprocessed() {
        return unprocessed;
    }

    public String explanation() {
        return explanation;
    }

    /** The snake_case name used in {@code x-sluice-error}, the access log and metric labels. */
    public String label() {
        return label;
    }

    /** Whether the reply tells the client when to come back ({@code Retry-After}). */
    public boolean hasRetryAfter() {
        return switch (this) {
            case OVERLOADED, RATE_LIMITED, APP_STARTING_TIMEOUT, APP_CRASH_LOOP, NO_HEALTHY_ENDPOINT,
                 CONNECT_BACKLOG_FULL -> true;
            case NO_ROUTE, METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE, ACCESS_DENIED, UNAUTHENTICATED, CONNECT_REFUSED, CONNECT_TIMEOUT,
                 UPSTREAM_TLS_FAILED, CLOSED_BEFORE_SEND, STREAM_REFUSED, RESET_BEFORE_RESPONSE,
                 RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE, BAD_REQUEST, REQUEST_LINE_TOO_LONG,
                 HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT, REQUEST_BODY_TIMEOUT, AUTH_DENIED, AUTH_UNAVAILABLE,
                 AUTH_TIMEOUT -> false;
        };
    }

    /** What a failed connect means: a timeout, or (ECONNREFUSED, an unreachable network) that nothing could take the request. */
    public static FailureKind ofConnectFailure(Throwable cause) {
        if (cause instanceof io.netty.channel.ConnectTimeoutException) {
            return CONNECT_TIMEOUT;
        }
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                return UPSTREAM_TLS_FAILED;
            }
        }
        return CONNECT_REFUSED;
    }

    /**
     * A failed connect to an app Sluice supervises. While its process lives and passed its
     * readiness check, a refused or timed-out connect means its accept queue is full: the app is
     * overloaded, not stopped (the hosting platform's outage began by reading it as "not running").
     */
    public static FailureKind ofConnectFailure(Throwable cause, boolean appRunning) {
        return appRunning ? CONNECT_BACKLOG_FULL : ofConnectFailure(cause);
    }
}
