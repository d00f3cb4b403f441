package dev.sluice.exchange;

import dev.sluice.config.UpstreamHostConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.observe.RequestLog;
import dev.sluice.resilience.RetryDecision;
import dev.sluice.route.Route;
import dev.sluice.route.Variables;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.upstream.UpstreamListener;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request through the gateway, whatever protocol the client speaks: route → access (and forward auth) → admit →
 * pick an endpoint → acquire a connection → send → respond, or retry, or answer with a local
 * reply. A route that answers by itself (a redirect, a fixed response) is answered once the
 * request has been read, without admission or a cluster; so is a CORS preflight.
 * Each step's answer is a value ({@link Routed}, {@link AccessCheck.Decision}, {@link Admission.Decision}, {@link Pick},
 * {@link Acquire}, {@link RetryDecision}); this class strings them together and keeps what
 * happens in the request's {@link RequestLog}.
 *
 * <p>The client side is a {@link Downstream}: this class never frames a response or touches the
 * client's connection. The upstream connection lives on the request's event loop, so nothing
 * here needs a lock. Backpressure: the endpoint is read only while the client can take more
 * ({@link Downstream#flush()}), and the client's body only while the endpoint can
 * ({@link #acceptsBody()}).
 */
public final class Exchange implements UpstreamListener, AccessStep.Outcome, AdmitStep.Outcome, Attempts.Connections {
    private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

    private final ExchangeContext context;
    private final Downstream downstream;
    private final RequestLog log;
    private final HttpRequest request;
    /** The common request, forwarded from its bytes; null when its header map is edited instead. */
    private final ReceivedRequest verbatim;
    private final String clientAddress;
    private final boolean clientTrusted;
    private final TrustedProxies trustedProxies;
    /** The request has no body (no Content-Length, no Transfer-Encoding, or a length of 0). */
    private final boolean bodyless;
    private final RequestSender sender;
    /** The request's client, keys and host as rate limits see them; also the {@code ${client}} of templates. */
    private RequestKeys keys;
    private Route route;
    private RequestVariables variables;
    private final BodyIntake intake;
    /** Sluice's own answer to this request (a CORS preflight's), in place of the route's; null for the route's. */
    private LocalAnswer ownAnswer;
    /** The access and forward-auth steps; null until the request is routed. */
    private AccessStep access;
    private Cluster cluster;
    /** The admit step, which holds the request's place from admission to {@link #end}; null until routed. */
    private AdmitStep admission;
    /** Set while the request waits for an off-loop access check: how it stops waiting if its client leaves. */
    private Admission.Withdrawal waiting;

    /** The current attempt's connection; null while connecting, between attempts, and once ended. */
    private UpstreamConnection upstream;
    private final ResponseReader response;
    /** The request's attempts at its cluster and their retries; made when it is admitted. */
    private Attempts attempts;
    /** The route's mirror copy and recording of this request, if sampled; {@link Tap#NONE} otherwise. */
    private Tap tap = Tap.NONE;
    /** The exchange ended (answered, cut, or its client went away): late events are ignored. */
    private boolean ended;
    /** The client asked for a WebSocket upgrade, which goes to the endpoint (see {@link WebSocketUpgrade}). */
    private boolean webSocketUpgrade;

    /**
     * @param verbatim {@code request} itself when it is a {@link ReceivedRequest} forwarded from its bytes, else null
     * @param trustedProxies the listener's, behind which a per-client rate limit finds the client
     * @param bodyless whether the request has no body, so its head is the whole request
     * @param listenerMaxBody the listener's {@code max_body} in bytes, or -1: for a route without its own
     */
    public Exchange(ExchangeContext context, Downstream downstream, RequestLog log, HttpRequest request,
                    ReceivedRequest verbatim, String clientAddress, boolean clientTrusted, TrustedProxies trustedProxies,
                    boolean bodyless, long listenerMaxBody) {
        this.intake = new BodyIntake(listenerMaxBody);
        this.context = context;
        this.downstream = downstream;
        this.log = log;
        this.request = request;
        this.verbatim = verbatim;
        this.clientAddress = clientAddress;
        this.clientTrusted = clientTrusted;
        this.trustedProxies = trustedProxies;
        this.bodyless = bodyless;
        this.sender = new RequestSender(this, bodyless);
        this.response = new ResponseReader(this, downstream, log, request);
    }

    /**
     * The request asks to upgrade its connection to a WebSocket: the upgrade is asked of the
     * endpoint too ({@link WebSocketUpgrade}). Said before {@link #start}; the request's header map is forwarded.
     */
    public void forwardsWebSocketUpgrade() {
        webSocketUpgrade = true;
    }

    boolean webSocketUpgrade() {
        return webSocketUpgrade;
    }

    /**
     * The endpoint accepted the WebSocket upgrade: the exchange ends here (its admission ticket
     * back, the response deadline off) and its upstream connection never goes back to a pool:
     * the downstream makes it and the client's one tunnel.
     */
    void switchedProtocols(HttpResponse switching) {
        UpstreamConnection connection = upstream;
        downstream.responseDeadlineMet();
        detachUpstream();
        end(false);
        WebSocketUpgrade.answerClient(switching.headers());
        downstream.tunnel(switching, connection.channel());
    }

    /** The route step, the access step (and forward auth), the admit step, then the first attempt. */
    public void start(long now) {
        start(now, java.util.Optional.empty());
    }

    /**
     * As {@link #start(long)}, with {@code listenerRoute} (when present) the route every request
     * of its listener takes instead of the route table's (a {@code redirect_https} listener's).
     */
    public void start(long now, java.util.Optional<Route> listenerRoute) {
        keys = new RequestKeys(request, verbatim, clientAddress, clientTrusted, trustedProxies, log);
        if (clientTrusted) {
            // Behind a trusted proxy the log names the client its X-Forwarded-For names, as limits count it.
            log.clientIs(keys.client());
        }
        Routed.To to;
        Snapshot snapshot = context.snapshot();
        Routed routed = listenerRoute.isPresent() ? new Routed.To(listenerRoute.get(), null)
                : snapshot.route(request, log.host());
        switch (routed) {
            case Routed.Refused refused -> {
                end(true);
                downstream.reply(refused.kind(), refused.fields(), false);
                return;
            }
            case Routed.To matched -> to = matched;
        }
        route = to.route();
        cluster = to.cluster();
        admission = new AdmitStep(context, log, now + route.timeoutNanos(), this);
        log.routed(route.name(), cluster == null ? null : cluster.name(), now);
        if (route.tapped()) {
            tap = context.taps().open(context, route, request, bodyless, downstream.secure(), log);
        }
        if (intake.routed(route.maxBody(), request, bodyless)) {
            // Content-Length says it all: refused before a byte is forwarded or read.
            end(true);
            downstream.reply(FailureKind.REQUEST_TOO_LARGE, true);
            return;
        }
        access = new AccessStep(context, snapshot, route, request, log.requestId(), clientAddress, clientTrusted,
                downstream.secure(), this);
        access.start(keys, now);
    }

    /**
     * The access and forward-auth steps' decision, at once or (after {@code Pending}) on the loop
     * when an off-loop check ends: on to the admit step, or Sluice's own answer, or refused.
     */
    @Override
    public void accessDecided(AccessCheck.Decision decision) {
        if (!(decision instanceof AccessCheck.Decision.Pending)) {
            waiting = null;
        }
        switch (decision) {
            // (A check whose write failed at once has refused the request already.)
            case AccessCheck.Decision.Pending pending -> waiting = ended ? null : pending.withdrawal();
            case AccessCheck.Decision.Refused refused -> refused(refused.kind(), refused.fields());
            case AccessCheck.Decision.Allowed allowed -> {
                if (ended) {
                    return;
                }
                if (route.forwards()) {
                    admission.admit(route, cluster, keys);
                } else {
                    answerOnceRead();
                }
            }
            case AccessCheck.Decision.Answered answered -> {
                if (!ended) {
                    ownAnswer = answered.answer();
                    answerOnceRead();
                }
            }
            case AccessCheck.Decision.Denied denied -> {
                if (!ended) {
                    // The auth service's refusal goes to the client as it came, named in the log;
                    // the request was not forwarded, and its body not read.
                    end(true);
                    log.failed(denied.kind());
                    denied.answer().sendTo(downstream, log, responseFields());
                }
            }
        }
    }

    @Override
    public boolean ended() {
        return ended;
    }

    /**
     * The answer waits for the request's end (the body read and dropped), so the connection can
     * stay open; a client expecting 100 Continue gets it.
     */
    private void answerOnceRead() {
        intake.answerOnceRead();
        downstream.bodyWanted();
    }

    /** Admitted by the admit step, now or after a wait: the request is prepared for its cluster and the first attempt goes out. */
    @Override
    public void admitted(long now) {
        boolean idempotencyKey = HeaderPolicy.prepareForwarding(request, verbatim, log.requestId(),
                log.traceStarted() ? log.traceparent() : null, log.host(), clientAddress, clientTrusted,
                downstream.secure(), route, variables());
        if (webSocketUpgrade) {
            WebSocketUpgrade.askEndpoint(request.headers());
        } else {
            tap.forwarded(request, now);
        }
        attempts = new Attempts(context, this, cluster, route.retryPolicy(), log, request.method(),
                idempotencyKey, RequestAffinity.of(cluster.config().sticky(), request, keys));
        startAttempt(now);
    }

    /** Refused admission, at once or after a wait that ran out; or refused by an off-loop access check. */
    @Override
    public void refused(FailureKind kind, ReplyFields fields) {
        if (!ended) {
            end(true);
            downstream.reply(kind, fields.with(responseFields()), false);
        }
    }

    // The request, client → endpoint.

    /** A part of the request body from the client; ownership passes to the exchange. */
    public void requestContent(HttpContent part, boolean last) {
        if (ended) {
            part.release();
            return;
        }
        int size = part.content().readableBytes();
        log.bodyIn(size);
        switch (intake.take(size, last)) {
            case FORWARD -> {
                tap.requestContent(part, last);
                sender.content(part, last);
            }
            case TOO_LARGE -> {
                // A chunked body crossed the route's limit: 413 when nothing of a response went out
                // (the endpoint, if it had the first parts, loses its connection mid-request), else cut.
                part.release();
                requestFailed(FailureKind.REQUEST_TOO_LARGE);
            }
            case DROP -> part.release();
            case ANSWER -> {
                part.release();
                answerLocally();
            }
        }
    }

    /**
     * Whether the client's body may be read now: an upstream connection took the head and can take
     * more, or the route answers by itself and drops the body.
     */
    public boolean acceptsBody() {
        return intake.draining() || sender.acceptsBody();
    }

    /** A redirect or fixed response, with the route's response header rules applied; or Sluice's own answer. */
    private void answerLocally() {
        end(false);
        (ownAnswer != null ? ownAnswer : LocalAnswer.of(route, variables())).sendTo(downstream, log, responseFields());
    }

    /** The request's values for the route's templates (header rules, a redirect's target), made once asked. */
    Variables variables() {
        if (variables == null) {
            variables = new RequestVariables(request, keys, log, route);
        }
        return variables;
    }

    /**
     * The {@code Set-Cookie} value that keeps the client on {@code served}, when its cluster sticks
     * by cookie and the request's cookie named another endpoint or none; else null.
     */
    String stickyCookie(Endpoint served) {
        return attempts == null ? null : attempts.stickyCookie(served);
    }

    /** The route's response header rules, applied by the respond step to a backend's response. */
    Route route() {
        return route;
    }

    /** The request's mirror copy and recording, which the respond step shows the response as sent. */
    Tap tap() {
        return tap;
    }

    /** Fields added to the response by the access step (CORS), after the route's response rules. */
    ReplyFields responseFields() {
        return access == null ? ReplyFields.NONE : access.responseFields();
    }

    /** The end of a read of the client: what it sent goes out in one write. */
    public void flushUpstream() {
        if (upstream != null) {
            upstream.flush();
        }
    }

    /** The client's request went bad or stalled before its end (a bad chunk, the body timeout). */
    public void requestFailed(FailureKind kind) {
        if (response.started()) {
            abort(kind);
        } else {
            // The endpoint holds half a request: its connection is closed with the reply.
            reply(kind, true);
        }
    }

    private void startAttempt(long now) {
        attempts.start(bodyReplayable(), now);
    }

    /** Whether the body could be sent again after a failure: none, or one that fits the replay buffer. */
    private boolean bodyReplayable() {
        return sender.replayable() && (bodyless || !HttpUtil.isTransferEncodingChunked(request)
                && HttpUtil.getContentLength(request, Long.MAX_VALUE) <= RequestBody.REPLAY_LIMIT);
    }

    /** The pick or acquire step found no connection: no endpoint to pick ({@code endpoint} null), or a failed connect. */
    @Override
    public void notAcquired(FailureKind kind, Endpoint endpoint) {
        if (endpoint == null) {
            reply(kind, false);
        } else {
            attemptFailed(kind, endpoint, false);
        }
    }

    /** The attempt has its connection: the send step writes the request on it. */
    @Override
    public void acquired(UpstreamConnection connection) {
        upstream = connection;
        connection.attach(this);
        connection.endpoint().attemptStarted();
        // No Host (HTTP/1.0), or a route sending the endpoint's: a copy with the endpoint's authority.
        boolean endpointHost = log.host() == null || route.upstreamHost() instanceof UpstreamHostConfig.Endpoint;
        sender.sendOn(connection, endpointHost ? HeaderPolicy.withHost(request, connection.endpoint().address()) : request);
        downstream.bodyWanted();
        resumeUpstreamReads(connection);
    }

    private static void resumeUpstreamReads(UpstreamConnection connection) {
        if (!connection.channel().config().isAutoRead()) {
            connection.channel().config().setAutoRead(true);
        }
    }

    /**
     * The head could not be written, so not one byte of this request left Sluice: typically a
     * pooled connection that died in the pool. Retrying on a fresh connection is safe.
     */
    void headNotSent(UpstreamConnection connection) {
        if (connection == upstream) {
            attemptFailed(FailureKind.CLOSED_BEFORE_SEND, connection.endpoint(), log.connectionReused());
        }
    }

    /** The whole request reached {@code connection}'s socket: the route's timeout starts. */
    void requestSent(UpstreamConnection connection) {
        if (connection != upstream) {
            return;
        }
        long now = context.nanoTime();
        log.sent(now);
        long deadlineNanos = attempts.sent(now, route.timeoutNanos());
        if (!response.started()) {
            downstream.responseDeadline(deadlineNanos);
        }
    }

    /** The response deadline passed with no response begun: the attempt failed. */
    public void responseTimedOut() {
        if (!ended && !response.started() && upstream != null) {
            attemptFailed(FailureKind.RESPONSE_TIMEOUT, upstream.endpoint(), log.connectionReused());
        }
    }

    // Failures and retries.

    /**
     * One attempt failed. The attempts record it (and the endpoint's passive health) and ask the
     * retry policy; the request is tried again, or the client answered with the failure.
     */
    private void attemptFailed(FailureKind kind, Endpoint endpoint, boolean reused) {
        response.dropHeld();
        closeUpstream();
        downstream.responseDeadlineMet();
        RetryDecision decision = attempts.failed(kind, endpoint, reused, sender.replayable(), response.started(),
                context.nanoTime());
        if (!decision.retries()) {
            reply(kind, kind == FailureKind.BAD_RESPONSE);
            return;
        }
        retryAfter(decision.delayNanos(), Attempts.pooledDeath(kind, reused) ? endpoint : null);
    }

    /** Sends the request again after {@code delayNanos}: to {@code sameEndpoint} on a fresh connection, or as the balancer picks. */
    private void retryAfter(long delayNanos, Endpoint sameEndpoint) {
        sender.rewind();
        attempts.retryAfter(delayNanos, sameEndpoint, () -> startAttempt(context.nanoTime()));
    }

    // The response, endpoint → client.

    @Override
    public void onResponseObject(UpstreamConnection connection, Object msg) {
        if (connection != upstream) {
            ReferenceCountUtil.release(msg);
            return;
        }
        response.read(connection, msg, sender.fullyWritten(), context);
    }

    /**
     * The route opted to retry this backend status: if the policy agrees, the response is
     * dropped with its connection and the request goes out again. Returns whether it did.
     */
    boolean retriedOnStatus(UpstreamConnection connection, HttpResponse head, long now) {
        RetryDecision decision = attempts.answered(head, log.connectionReused(),
                sender.replayable(), response.started(), now);
        if (decision == null || !decision.retries()) {
            return false;
        }
        detachUpstream();
        connection.close();
        retryAfter(decision.delayNanos(), null);
        return true;
    }

    /** The last part of the response went to the client: the connection goes back to its pool if it can. */
    void responseComplete(boolean reusable) {
        UpstreamConnection connection = upstream;
        detachUpstream();
        long now = context.nanoTime();
        if (reusable && sender.fullyWritten()) {
            context.pools().pool(connection.endpoint(), cluster.config().maxIdlePerEndpoint())
                    .release(connection, now, connection.idleTimeoutNanos(cluster.config()));
        } else {
            connection.close();
        }
        end(false);
        downstream.responseComplete();
    }

    @Override
    public void onUpstreamReadComplete(UpstreamConnection connection) {
        if (connection != upstream) {
            return;
        }
        response.endOfBurst();
        if (!downstream.flush()) {
            // The client is slower than the endpoint: stop reading it until the client catches up.
            connection.channel().config().setAutoRead(false);
        }
    }

    /** The client can take more of the response. */
    public void clientWritable() {
        if (upstream != null) {
            resumeUpstreamReads(upstream);
        }
    }

    @Override
    public void onUpstreamWritabilityChanged(UpstreamConnection connection) {
        if (connection == upstream && connection.channel().isWritable()) {
            downstream.bodyWanted();
        }
    }

    @Override
    public void onUpstreamClosed(UpstreamConnection connection, Throwable cause) {
        if (connection != upstream) {
            return;
        }
        if (cause != null) {
            LOG.debug("upstream {} failed: {}", connection.endpoint(), cause.toString());
        }
        FailureKind kind = Attempts.closedKind(sender.headWritten(), response.started(), cause);
        if (kind == FailureKind.CLOSED_BEFORE_SEND) {
            attemptFailed(kind, connection.endpoint(), log.connectionReused());
        } else {
            upstreamFailed(kind);
        }
    }

    /** The endpoint failed this exchange after the request went out. */
    void upstreamFailed(FailureKind kind) {
        UpstreamConnection connection = closeUpstream();
        if (response.started()) {
            if (kind != FailureKind.BAD_RESPONSE && connection != null) {
                long now = context.nanoTime();
                connection.endpoint().recordFailure(now, cluster.mayEject(now));
            }
            abort(kind);
        } else {
            attemptFailed(kind, connection.endpoint(), log.connectionReused());
        }
    }

    // Endings.

    private void reply(FailureKind kind, boolean close) {
        closeUpstream();
        end(true);
        downstream.reply(kind, responseFields(), close);
    }

    private void abort(FailureKind kind) {
        closeUpstream();
        end(true);
        downstream.abort(kind);
    }

    /** The client went away: whatever is in flight upstream is dropped with its connection. */
    public void cancel() {
        if (waiting != null) {
            waiting.withdraw();
            waiting = null;
        }
        if (admission != null) {
            admission.withdraw();
        }
        closeUpstream();
        end(false);
    }

    /** Frees what the request held, once: its body parts and its admission ticket. */
    private void end(boolean failed) {
        if (!ended) {
            ended = true;
            tap.ended();
            sender.release();
            response.discardCompressor();
            if (admission != null) {
                admission.release(failed);
            }
        }
    }

    /** Detaches and closes the exchange's upstream connection, if it has one; returns it (or null). */
    private UpstreamConnection closeUpstream() {
        UpstreamConnection connection = upstream;
        if (connection != null) {
            detachUpstream();
            connection.close();
        }
        return connection;
    }

    private void detachUpstream() {
        if (upstream != null) {
            upstream.endpoint().attemptEnded();
            upstream.detach();
            upstream = null;
            sender.detach();
        }
    }
}
