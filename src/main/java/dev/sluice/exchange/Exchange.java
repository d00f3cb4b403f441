package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.http.FieldNames;
import dev.sluice.http.KeepAlive;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.observe.RequestLog;
import dev.sluice.resilience.RetryDecision;
import dev.sluice.resilience.RetryPolicy;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.upstream.UpstreamListener;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request through the gateway, whatever protocol the client speaks: route → admit → pick an
 * endpoint → acquire a connection → send → respond, or retry, or answer with a local reply.
 * Each step's answer is a value ({@link Routed}, {@link Admission.Decision}, {@link Pick},
 * {@link Acquire}, {@link RetryDecision}); this class strings them together and keeps what
 * happens in the request's {@link RequestLog}.
 *
 * <p>The client side is a {@link Downstream}: this class never frames a response or touches the
 * client's connection. The upstream connection lives on the request's event loop, so nothing
 * here needs a lock. Backpressure: the endpoint is read only while the client can take more
 * ({@link Downstream#flush()}), and the client's body only while the endpoint can
 * ({@link #acceptsBody()}).
 */
public final class Exchange implements UpstreamListener {
    private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

    private final ExchangeContext context;
    private final Downstream downstream;
    private final RequestLog log;
    private final HttpRequest request;
    /** The common request, forwarded from its bytes; null when its header map is edited instead. */
    private final ReceivedRequest verbatim;
    private final String clientAddress;
    private final boolean clientTrusted;
    /** The request has no body (no Content-Length, no Transfer-Encoding, or a length of 0). */
    private final boolean bodyless;
    private final RequestBody body = new RequestBody();
    private Route route;
    private Cluster cluster;
    private Admission.Ticket ticket = Admission.Ticket.NONE;
    private boolean idempotencyKey;

    private UpstreamConnection upstream;
    private boolean requestHeadWritten;
    private boolean requestFullyWritten;
    private boolean upstreamReusable;
    private boolean awaitingFinalAfterInterim;
    private boolean responseStarted;
    /**
     * The response head, held until its first body part arrives: if the endpoint dies in between,
     * nothing has reached the client and an idempotent request can still be retried.
     */
    private HttpResponse heldHead;
    private long triedEndpoints;
    private FailureKind lastFailure;
    private int retries;
    /** An attempt failed on a reused connection: every later attempt gets a new one (see {@link Acquire#from}). */
    private boolean freshConnectionsOnly;
    private long connectStartedNanos;
    /** When the route's timeout runs out (set once the whole request is sent); 0 before. */
    private long deadlineNanos;
    /** The exchange ended (answered, cut, or its client went away): late events are ignored. */
    private boolean ended;

    /**
     * @param verbatim {@code request} itself when it is a {@link ReceivedRequest} forwarded from its bytes, else null
     * @param bodyless whether the request has no body, so its head is the whole request
     */
    public Exchange(ExchangeContext context, Downstream downstream, RequestLog log, HttpRequest request,
                    ReceivedRequest verbatim, String clientAddress, boolean clientTrusted, boolean bodyless) {
        this.context = context;
        this.downstream = downstream;
        this.log = log;
        this.request = request;
        this.verbatim = verbatim;
        this.clientAddress = clientAddress;
        this.clientTrusted = clientTrusted;
        this.bodyless = bodyless;
    }

    /** The route step, the admit step, then the first attempt. */
    public void start(long now) {
        if (!(context.snapshot().route(request, log.host()) instanceof Routed.To to)) {
            end(true);
            downstream.reply(FailureKind.NO_ROUTE, false);
            return;
        }
        route = to.route();
        cluster = to.cluster();
        log.routed(route.name(), cluster.name(), now);
        cluster.retryBudget().deposit();
        switch (context.admission().admit(route, cluster, log)) {
            case Admission.Decision.Refused refused -> {
                end(true);
                downstream.reply(refused.kind(), false);
                return;
            }
            case Admission.Decision.Admitted admitted -> {
                ticket = admitted.ticket();
                log.admitted(now);
            }
        }
        prepareRequestHead();
        startAttempt(now);
    }

    /** What Sluice changes in a request it forwards: hop-by-hop fields out, X-Forwarded-*, the request id and Via in. */
    private void prepareRequestHead() {
        if (verbatim != null && verbatim.verbatim()) {
            // Its lines go out as they came, less the hop-by-hop ones, with the fields added as
            // the map edits below would set them.
            idempotencyKey = verbatim.hasIdempotencyKey();
            verbatim.forwardVerbatim(HeaderPolicy.addedRequestFields(log.requestId(), clientAddress, log.host()));
        } else {
            HttpHeaders headers = request.headers();
            if (verbatim != null) {
                // Its map was made after all (a route matching on a header): the request id goes in it.
                headers.set(FieldNames.X_REQUEST_ID, log.requestId());
            }
            idempotencyKey = headers.contains(FieldNames.IDEMPOTENCY_KEY);
            HeaderPolicy.removeHopByHop(headers);
            // Sluice answers "100 Continue" itself once it has somewhere to send the body
            // (as Envoy does); an HTTP/1.0 backend would not understand the expectation.
            headers.remove(HttpHeaderNames.EXPECT);
            HeaderPolicy.setForwarded(headers, clientAddress, clientTrusted);
            HeaderPolicy.appendVia(headers);
        }
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    // The request, client → endpoint.

    /** A part of the request body from the client; ownership passes to the exchange. */
    public void requestContent(HttpContent part, boolean last) {
        if (ended) {
            part.release();
            return;
        }
        log.bodyIn(part.content().readableBytes());
        if (upstream != null && requestHeadWritten) {
            writeUpstream(part, last);
        } else {
            body.hold(part);
        }
    }

    /** Whether the client's body may be read now: an upstream connection took the head and can take more. */
    public boolean acceptsBody() {
        return upstream != null && requestHeadWritten && upstream.channel().isWritable();
    }

    /** The end of a read of the client: what it sent goes out in one write. */
    public void flushUpstream() {
        if (upstream != null) {
            upstream.flush();
        }
    }

    /** The client's request went bad or stalled before its end (a bad chunk, the body timeout). */
    public void requestFailed(FailureKind kind) {
        if (responseStarted) {
            abort(kind);
        } else {
            // The endpoint holds half a request: its connection is closed with the reply.
            reply(kind, true);
        }
    }

    private void startAttempt(long now) {
        Endpoint endpoint;
        switch (Pick.next(cluster, triedEndpoints, retries, lastFailure, now)) {
            case Pick.None none -> {
                reply(none.why(), false);
                return;
            }
            case Pick.To to -> endpoint = to.endpoint();
        }
        triedEndpoints |= cluster.bitOf(endpoint);
        var pool = context.pools().pool(endpoint, cluster.config().maxIdlePerEndpoint());
        switch (Acquire.from(pool, endpoint, freshConnectionsOnly, retryableOnceSent(), now)) {
            case Acquire.Pooled pooled -> {
                UpstreamConnection connection = pooled.connection();
                log.attemptStarted(endpoint.address(), true, (now - connection.idleSinceNanos()) / 1_000_000,
                        (now - connection.createdNanos()) / 1_000_000);
                bind(connection);
            }
            case Acquire.Connect connect -> connect(endpoint);
        }
    }

    /** Whether a failure after sending could be retried: idempotent, and a body that fits the replay buffer. */
    private boolean retryableOnceSent() {
        if (!RetryPolicy.isIdempotent(request.method(), idempotencyKey) || !body.replayable()) {
            return false;
        }
        return bodyless || !HttpUtil.isTransferEncodingChunked(request)
                && HttpUtil.getContentLength(request, Long.MAX_VALUE) <= RequestBody.REPLAY_LIMIT;
    }

    private void connect(Endpoint endpoint) {
        connectStartedNanos = context.nanoTime();
        log.attemptStarted(endpoint.address(), false, -1, -1);
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, cluster.config().connectTimeout().toMillis());
        context.connector().connect(context.loop(), endpoint, timeoutMillis)
                .addListener((Future<UpstreamConnection> f) -> onConnected(endpoint, f));
    }

    private void onConnected(Endpoint endpoint, Future<UpstreamConnection> f) {
        if (ended) {
            // The exchange ended (client gone, timeout) while connecting.
            if (f.isSuccess()) {
                f.getNow().close();
            }
            return;
        }
        log.connected(context.nanoTime() - connectStartedNanos);
        if (f.isSuccess()) {
            bind(f.getNow());
            return;
        }
        attemptFailed(connectFailureKind(f.cause()), endpoint, false);
    }

    static FailureKind connectFailureKind(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return FailureKind.CONNECT_TIMEOUT;
        }
        // ECONNREFUSED, and also unreachable networks: nothing could take the request.
        return FailureKind.CONNECT_REFUSED;
    }

    /** The send step: the head, then whatever body arrived, on {@code connection}. */
    private void bind(UpstreamConnection connection) {
        upstream = connection;
        connection.attach(this);
        connection.endpoint().attemptStarted();
        requestHeadWritten = false;
        requestFullyWritten = false;
        ChannelPromise headWritten = connection.channel().newPromise();
        headWritten.addListener((ChannelFutureListener) f -> onHeadWritten(connection, f.isSuccess()));
        connection.write(log.host() == null ? HeaderPolicy.withHost(request, connection.endpoint().address()) : request,
                headWritten);
        requestHeadWritten = true;
        HttpContent part;
        while ((part = body.nextHeld()) != null) {
            writeUpstream(part, part instanceof LastHttpContent);
        }
        connection.flush();
        downstream.bodyWanted();
        resumeUpstreamReads(connection);
    }

    private static void resumeUpstreamReads(UpstreamConnection connection) {
        if (!connection.channel().config().isAutoRead()) {
            connection.channel().config().setAutoRead(true);
        }
    }

    private void onHeadWritten(UpstreamConnection connection, boolean success) {
        if (connection != upstream) {
            return;
        }
        if (!success) {
            // The write failed, so not one byte of this request left Sluice: typically a pooled
            // connection that died in the pool. Retrying on a fresh connection is safe.
            attemptFailed(FailureKind.CLOSED_BEFORE_SEND, connection.endpoint(), log.connectionReused());
        } else if (bodyless) {
            // Its end marker adds no bytes: the head was the whole request (see writeUpstream).
            onRequestSent();
        }
    }

    private void writeUpstream(HttpContent part, boolean last) {
        UpstreamConnection connection = upstream;
        body.sending(part, last);
        if (last && !bodyless) {
            ChannelPromise sent = connection.channel().newPromise();
            sent.addListener((ChannelFutureListener) f -> {
                if (f.isSuccess() && connection == upstream) {
                    onRequestSent();
                }
            });
            connection.write(part, sent);
        } else {
            // A bodyless request's empty end marker needs no promise of its own (one promise and
            // listener less per GET): the head's says when the request was sent.
            connection.write(part);
        }
    }

    private void onRequestSent() {
        requestFullyWritten = true;
        long now = context.nanoTime();
        log.sent(now);
        if (deadlineNanos == 0) {
            // One deadline for the whole request: retries never stretch it.
            deadlineNanos = now + route.timeoutNanos();
        }
        if (!responseStarted) {
            downstream.responseDeadline(deadlineNanos);
        }
    }

    /** The response deadline passed with no response begun: the attempt failed. */
    public void responseTimedOut() {
        if (!ended && !responseStarted && upstream != null) {
            attemptFailed(FailureKind.RESPONSE_TIMEOUT, upstream.endpoint(), log.connectionReused());
        }
    }

    // Failures and retries.

    private RetryPolicy.Attempted attempted(boolean reused, long now) {
        boolean endpointsLeft = Long.bitCount(triedEndpoints) < cluster.size();
        return new RetryPolicy.Attempted(request.method(), idempotencyKey, body.replayable(), responseStarted, retries,
                endpointsLeft, reused, deadlineNanos == 0 ? Long.MAX_VALUE : deadlineNanos - now);
    }

    /**
     * One attempt failed. Records it (and the endpoint's passive health), asks the retry policy,
     * and either tries again or answers the client with the failure.
     */
    private void attemptFailed(FailureKind kind, Endpoint endpoint, boolean reused) {
        heldHead = null;
        closeUpstream();
        downstream.responseDeadlineMet();
        long now = context.nanoTime();
        boolean pooledDeath = kind == FailureKind.CLOSED_BEFORE_SEND && reused;
        if (!pooledDeath && kind != FailureKind.BAD_RESPONSE) {
            endpoint.recordFailure(now, cluster.mayEject(now));
        }
        lastFailure = kind;
        if (reused) {
            freshConnectionsOnly = true;
        }
        RetryDecision decision = route.retryPolicy().decide(kind, attempted(reused, now), cluster.retryBudget(), now);
        log.attemptEnded(kind, decision.reason());
        if (!decision.retries()) {
            reply(kind, kind == FailureKind.BAD_RESPONSE);
            return;
        }
        if (!pooledDeath) {
            retries++;
        }
        retryAfter(decision.delayNanos(), pooledDeath ? endpoint : null);
    }

    /** Sends the request again after {@code delayNanos}: to {@code sameEndpoint} on a fresh connection, or as the balancer picks. */
    private void retryAfter(long delayNanos, Endpoint sameEndpoint) {
        body.rewind();
        requestHeadWritten = false;
        requestFullyWritten = false;
        Runnable attempt = sameEndpoint != null ? () -> connect(sameEndpoint) : () -> startAttempt(context.nanoTime());
        if (delayNanos <= 0) {
            attempt.run();
            return;
        }
        context.loop().schedule(() -> {
            if (!ended) {
                attempt.run();
            }
        }, delayNanos, TimeUnit.NANOSECONDS);
    }

    // The response, endpoint → client.

    @Override
    public void onResponseObject(UpstreamConnection connection, Object msg) {
        if (connection != upstream) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse response) {
            onResponseHead(response);
        } else if (msg instanceof HttpContent content) {
            onResponseContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onResponseHead(HttpResponse response) {
        if (response.decoderResult().isFailure()) {
            ReferenceCountUtil.release(response);
            LOG.debug("bad response from {}: {}", log.endpoint(), response.decoderResult().cause().toString());
            upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        int status = response.status().code();
        if (status < 200) {
            onInterim(response, status);
            return;
        }
        downstream.responseDeadlineMet();
        UpstreamConnection connection = upstream;
        connection.endpoint().recordSuccess();
        log.firstByte(context.nanoTime(), status);
        if (route.retryPolicy().retriesStatus(status) && retryOnStatus(connection, status, response)) {
            return;
        }
        if (response instanceof ReceivedResponse raw && raw.verbatim()) {
            // The common case: framed by its length (or bodyless), Connection naming nothing but
            // close or keep-alive. Its lines go out as they came; the downstream adds its own.
            connection.learn(KeepAlive.parse(raw.keepAliveField()));
            upstreamReusable = raw.keepAlive() && requestFullyWritten;
        } else {
            HttpHeaders headers = response.headers();
            connection.learn(KeepAlive.parse(headers.get(HttpHeaderNames.KEEP_ALIVE)));
            // A body the backend ends by closing, or a response before the whole request was read,
            // leaves the connection unusable.
            upstreamReusable = HttpUtil.isKeepAlive(response) && !closeDelimited(response) && requestFullyWritten;
            HeaderPolicy.removeHopByHop(headers);
            HeaderPolicy.appendVia(headers);
        }
        awaitingFinalAfterInterim = false;
        heldHead = response;
    }

    /** A body that ends when the backend closes: neither a length nor chunked, and a body at all (RFC 9112 §6.3). */
    private boolean closeDelimited(HttpResponse response) {
        int code = response.status().code();
        boolean bodyless = code == 204 || code == 205 || code == 304 || HttpMethod.HEAD.equals(request.method());
        return !bodyless && !HttpUtil.isTransferEncodingChunked(response)
                && !response.headers().contains(HttpHeaderNames.CONTENT_LENGTH);
    }

    private void onInterim(HttpResponse response, int status) {
        // Sluice never asks for an upgrade (Upgrade is hop-by-hop), so 101 is a protocol error.
        if (status == 101) {
            upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        awaitingFinalAfterInterim = true;
        // 100 Continue was Sluice's to send; other interim responses (103 Early Hints) go on.
        if (status != 100) {
            HeaderPolicy.removeHopByHop(response.headers());
            downstream.interim(response);
        }
    }

    /**
     * The route opted to retry this backend status: if the policy agrees, the response is
     * dropped with its connection and the request goes out again. Returns whether it did.
     */
    private boolean retryOnStatus(UpstreamConnection connection, int status, HttpResponse response) {
        long now = context.nanoTime();
        RetryDecision decision = route.retryPolicy().decideOnStatus(status, retryAfterNanos(response.headers()),
                attempted(log.connectionReused(), now), cluster.retryBudget(), now);
        log.attemptEnded(null, decision.reason());
        if (!decision.retries()) {
            return false;
        }
        detachUpstream();
        connection.close();
        retries++;
        lastFailure = null;
        retryAfter(decision.delayNanos(), null);
        return true;
    }

    /** A {@code Retry-After} in delta-seconds, as nanoseconds; -1 when absent or a date. */
    private static long retryAfterNanos(HttpHeaders headers) {
        String value = headers.get(HttpHeaderNames.RETRY_AFTER);
        if (value == null) {
            return -1;
        }
        try {
            return Math.max(0, Long.parseLong(value.trim())) * 1_000_000_000L;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void onResponseContent(HttpContent content) {
        if (awaitingFinalAfterInterim) {
            // The empty "last content" the decoder emits after each 1xx: not the real body.
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        log.bodyOut(content.content().readableBytes());
        if (heldHead != null) {
            HttpResponse head = heldHead;
            heldHead = null;
            responseStarted = true;
            downstream.respond(head);
        }
        downstream.respond(content);
        if (content instanceof LastHttpContent) {
            onResponseComplete();
        }
    }

    private void onResponseComplete() {
        UpstreamConnection connection = upstream;
        detachUpstream();
        long now = context.nanoTime();
        if (upstreamReusable && requestFullyWritten) {
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
        if (connection == upstream && !downstream.flush()) {
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
        if (!requestHeadWritten) {
            attemptFailed(FailureKind.CLOSED_BEFORE_SEND, connection.endpoint(), log.connectionReused());
        } else if (responseStarted) {
            upstreamFailed(FailureKind.RESPONSE_TRUNCATED);
        } else {
            upstreamFailed(FailureKind.RESET_BEFORE_RESPONSE);
        }
    }

    /** The endpoint failed this exchange after the request went out. */
    private void upstreamFailed(FailureKind kind) {
        UpstreamConnection connection = closeUpstream();
        if (responseStarted) {
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
        downstream.reply(kind, close);
    }

    private void abort(FailureKind kind) {
        closeUpstream();
        end(true);
        downstream.abort(kind);
    }

    /** The client went away: whatever is in flight upstream is dropped with its connection. */
    public void cancel() {
        closeUpstream();
        end(false);
    }

    /** Frees what the request held, once: its body parts and its admission ticket. */
    private void end(boolean failed) {
        if (!ended) {
            ended = true;
            body.release();
            ticket.release(failed);
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
        }
    }
}
