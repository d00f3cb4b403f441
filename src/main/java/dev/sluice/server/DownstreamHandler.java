package dev.sluice.server;

import dev.sluice.http.StrictRequestDecoder;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.LocalReply;
import dev.sluice.observe.RequestLog;
import dev.sluice.resilience.RetryDecision;
import dev.sluice.resilience.RetryPolicy;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.ConnectionPool;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.IdleTimeouts;
import dev.sluice.http.KeepAlive;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.upstream.UpstreamListener;
import dev.sluice.upstream.UpstreamPools;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: reads requests, proxies each to an endpoint, streams the response back.
 *
 * <p>Requests are served one at a time, in order (pipelined requests wait, decoded, until the
 * response before them is complete). Backpressure in both directions: the client is read only
 * while the upstream connection can take more (and while no pipelined request waits), and the
 * upstream only while the client can. Both sides keep {@code AUTO_READ} on and switch it off only
 * then: toggling read interest costs an {@code epoll_ctl} each way, so doing it per request
 * (as explicit {@code read()} calls would) costs throughput for nothing.
 *
 * <p>The pipeline is {@code StrictRequestDecoder → this}; responses are encoded by a
 * {@link ResponseEncoder} this handler calls itself ({@link #toClient}). The upstream connection
 * lives on the same event loop, so nothing here needs a lock.
 */
final class DownstreamHandler extends TimedConnection
        implements UpstreamListener, StrictRequestDecoder.HeadProgress {
    private static final Logger LOG = LoggerFactory.getLogger(DownstreamHandler.class);
    /**
     * 128 KiB of request body is kept for a possible retry: covers JSON and form posts. A larger
     * upload streams on without a copy, and is then no longer retryable (recorded in the log).
     */
    static final int REPLAY_LIMIT = 128 * 1024;
    /** The encoded parts of one response part, on their way to the socket; see {@link #toClient}. */
    private static final FastThreadLocal<ArrayList<Object>> ENCODED = new FastThreadLocal<>() {
        @Override
        protected ArrayList<Object> initialValue() {
            return new ArrayList<>(4);
        }
    };

    private enum State { IDLE, READING_HEAD, EXCHANGE, CLOSING }

    private enum Deadline { NONE, IDLE, HEAD, BODY, RESPONSE }


    private final Gateway gateway;
    private final ListenerRuntime listener;
    /** Not in the pipeline: {@link #toClient} calls it. */
    private final ResponseEncoder encoder = new ResponseEncoder();
    private ChannelHandlerContext ctx;
    private UpstreamPools pools;
    private String peerAddress;
    private boolean peerTrusted;
    private State state = State.IDLE;

    /**
     * Inside a read of the client's socket: a reply written now (a local reply to one of several
     * pipelined requests) is flushed once, in channelReadComplete, with the others.
     */
    private boolean inClientRead;
    /** A reply was written during this read and waits for channelReadComplete's flush. */
    private boolean flushAfterRead;
    /**
     * The start of the next request's head arrived while this one was being answered: when the
     * exchange ends, the header timeout (not the idle one) applies to the rest of it.
     */
    private boolean nextHeadStarted;

    // This object and everything it holds between requests is what an idle keep-alive connection
    // costs (10,000 idle connections are 10,000 of it): per-request state lives in a Flight, and
    // the queues are made on first use (most connections never pipeline; a GET has no body).

    /** Messages of pipelined requests decoded while an earlier response is still running. */
    private ArrayDeque<Object> pipelined;

    // The current exchange, and what its request needs while in flight (null between requests:
    // an idle keep-alive connection keeps none of it).
    private RequestLog ex;
    private Flight flight;

    /** One request's state from its head to the end of its response; made and dropped with its Exchange. */
    private static final class Flight {
        HttpRequest request;
        Route route;
        Cluster cluster;
        HttpVersion clientVersion;
        boolean clientKeepAlive;
        boolean expectContinue;
        boolean requestComplete;
        /** The request has no body (no Content-Length, no Transfer-Encoding, or a length of 0). */
        boolean requestBodyless;
        /** Body parts received from the client and not yet written upstream. */
        ArrayDeque<HttpContent> pendingBody;
        UpstreamConnection upstream;
        boolean requestHeadWritten;
        boolean requestFullyWritten;
        boolean upstreamReusable;
        boolean awaitingFinalAfterInterim;
        boolean responseStarted;
        /**
         * The response head, held until its first body part arrives: if the endpoint dies in between,
         * nothing has reached the client and an idempotent request can still be retried.
         */
        HttpResponse heldHead;
        boolean responseKeepAlive;
        long triedEndpoints;
        FailureKind lastFailure;
        int retries;
        long connectStartedNanos;
        boolean idempotencyKey;
        /** Copies of body parts already written upstream, for a retry; see REPLAY_LIMIT. */
        ArrayDeque<HttpContent> replay;
        /**
         * The body ended with an empty end marker, sent but not copied into {@link #replay}: a
         * bodyless GET would otherwise make a replay queue for every request.
         */
        boolean replayEndsEmpty;
        long replayBytes;
        boolean bodyReplayable;
        /** When the route's timeout runs out (set once the whole request is received); 0 before. */
        long deadlineNanos;

        ArrayDeque<HttpContent> pendingBody() {
            if (pendingBody == null) {
                pendingBody = new ArrayDeque<>(2);
            }
            return pendingBody;
        }
    }

    // Between requests the connection waits in its listener's idle list; while a request is in
    // flight, its header, body or response deadline waits in the event loop's deadline wheel.
    // Both are lists linked through this object (TimedConnection): no timer task per request.
    private IdleConnections idle;
    private DeadlineWheel deadlines;
    private Deadline deadline = Deadline.NONE;

    DownstreamHandler(Gateway gateway, ListenerRuntime listener) {
        this.gateway = gateway;
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.pools = gateway.pools(ctx.channel().eventLoop());
        this.idle = listener.idleConnections(ctx.channel().eventLoop(), gateway.nanoClock());
        this.deadlines = gateway.deadlines(ctx.channel().eventLoop());
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        this.peerAddress = peer == null ? "-" : PeerNames.of(peer.getAddress());
        this.peerTrusted = peer != null && listener.isTrustedProxy(peer);
        arm(Deadline.IDLE, listener.idleTimeoutNanos);
    }

    @Override
    public void partialHead() {
        if (state == State.IDLE) {
            state = State.READING_HEAD;
            arm(Deadline.HEAD, listener.headerTimeoutNanos);
        } else if (state == State.EXCHANGE) {
            nextHeadStarted = true;
        }
    }

    // ---- client → Sluice ----

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inClientRead = true;
        if (state == State.CLOSING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (ex != null && flight.requestComplete) {
            if (pipelined == null) {
                pipelined = new ArrayDeque<>(2);
            }
            pipelined.add(msg);
            return;
        }
        handleInbound(msg);
    }

    private void handleInbound(Object msg) {
        if (msg instanceof HttpRequest head) {
            try {
                onRequestHead(head);
            } finally {
                if (head instanceof HttpContent) {
                    // Only the decoder's "bad message" placeholder is a full request; nothing to forward.
                    ReferenceCountUtil.release(head);
                }
            }
        } else if (msg instanceof HttpContent content) {
            onRequestContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequestHead(HttpRequest head) {
        disarm();
        nextHeadStarted = false;
        state = State.EXCHANGE;
        gateway.exchangeStarted();
        long now = gateway.nanoTime();
        ex = new RequestLog(gateway.clock().millis(), now);
        flight = new Flight();
        // The common request, forwarded from its bytes unless something asks for its header map.
        ReceivedRequest received = head instanceof ReceivedRequest r && r.verbatim() ? r : null;
        ex.received(null, peerAddress, head.method().name(), head.uri(), head.protocolVersion().text(),
                received != null ? received.host() : head.headers().get(HttpHeaderNames.HOST));
        flight.clientVersion = head.protocolVersion();
        encoder.answeringHead(HttpMethod.HEAD.equals(head.method()));

        if (head.decoderResult().isFailure()) {
            flight.requestComplete = true;
            ex.requestIdIs(HeaderPolicy.newRequestId());
            Throwable cause = head.decoderResult().cause();
            LOG.debug("rejected request from {}: {}", peerAddress, cause.toString());
            reply(rejectionKind(cause), false);
            return;
        }
        if (received != null) {
            // It has no x-request-id, no body and no Expect (ReceivedRequest.verbatim).
            ex.requestIdIs(HeaderPolicy.newRequestId());
            flight.requestBodyless = true;
        } else {
            ex.requestIdIs(HeaderPolicy.ensureRequestId(head.headers()));
            flight.requestBodyless = !HttpUtil.isTransferEncodingChunked(head) && HttpUtil.getContentLength(head, 0L) == 0;
        }
        FailureKind invalid = received != null ? validate(head, received.fieldCount(), received.hostCount())
                : validate(head, head.headers().size(), head.headers().getAll(HttpHeaderNames.HOST).size());
        if (invalid != null) {
            reply(invalid, false);
            return;
        }
        if (received == null) {
            String authority = absoluteFormAuthority(head.uri());
            if (authority != null) {
                // RFC 9112 §3.2.2: with an absolute-form target, its authority is the request's
                // host, whatever Host says. Routing and the endpoint must agree on it, or a route
                // chosen by Host would carry a request meant for another virtual host.
                head.headers().set(HttpHeaderNames.HOST, authority);
                ex.hostIs(authority);
            }
        }
        flight.clientKeepAlive = received != null ? received.keepAlive() : HttpUtil.isKeepAlive(head);
        flight.expectContinue = received == null && HttpUtil.is100ContinueExpected(head);

        Snapshot snapshot = gateway.snapshot();
        flight.route = snapshot.routes().match(head, ex.host());
        if (flight.route == null) {
            reply(FailureKind.NO_ROUTE, flight.clientKeepAlive);
            return;
        }
        flight.cluster = snapshot.clusters().get(flight.route.cluster());
        ex.routed(flight.route.name(), flight.cluster.name(), now);
        flight.cluster.retryBudget().deposit();
        if (received != null && received.verbatim()) {
            // Its lines go out as they came, less the hop-by-hop ones, with X-Forwarded-*, the
            // request id and Via added as the map edits below would set them.
            flight.idempotencyKey = received.hasIdempotencyKey();
            received.forwardVerbatim(HeaderPolicy.addedRequestFields(ex.requestId(), peerAddress, ex.host()));
        } else {
            HttpHeaders headers = head.headers();
            if (received != null) {
                // Its map was made after all (a route matching on a header): the id made above goes in it.
                headers.set(HeaderPolicy.X_REQUEST_ID, ex.requestId());
            }
            flight.idempotencyKey = headers.contains(dev.sluice.http.FieldNames.IDEMPOTENCY_KEY);
            HeaderPolicy.removeHopByHop(headers);
            // Sluice answers "100 Continue" itself once it has somewhere to send the body
            // (as Envoy does); an HTTP/1.0 backend would not understand the expectation.
            headers.remove(HttpHeaderNames.EXPECT);
            HeaderPolicy.setForwarded(headers, peerAddress, peerTrusted);
            HeaderPolicy.appendVia(headers);
        }
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        flight.request = head;
        if (!flight.requestBodyless) {
            arm(Deadline.BODY, listener.bodyTimeoutNanos, now);
        }
        flight.bodyReplayable = true;
        startAttempt(now);
    }

    /** What the decoder's failure means for the client: 414, 431 or 400. */
    private static FailureKind rejectionKind(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return FailureKind.REQUEST_LINE_TOO_LONG;
        }
        if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
            return FailureKind.HEADERS_TOO_LARGE;
        }
        return FailureKind.BAD_REQUEST;
    }

    /** Checks Netty leaves to the server, given the head's number of fields and of Host fields; null when it is acceptable. */
    private FailureKind validate(HttpRequest head, int fields, int hosts) {
        if (fields > listener.config.maxHeaders()) {
            return FailureKind.HEADERS_TOO_LARGE;
        }
        HttpVersion version = head.protocolVersion();
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            return FailureKind.BAD_REQUEST;
        }
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, gets 400.
        if (hosts > 1 || hosts == 0 && HttpVersion.HTTP_1_1.equals(head.protocolVersion())) {
            return FailureKind.BAD_REQUEST;
        }
        String uri = head.uri();
        // Origin form ("/path") or absolute form ("http://host/path"); Sluice is not a forward
        // proxy, so CONNECT's authority form is refused, and "*" only goes with OPTIONS.
        String authority = absoluteFormAuthority(uri);
        boolean target = uri.startsWith("/")
                || authority != null && !authority.isEmpty() && authority.indexOf('@') < 0
                || uri.equals("*") && HttpMethod.OPTIONS.equals(head.method());
        if (!target || HttpMethod.CONNECT.equals(head.method())) {
            return FailureKind.BAD_REQUEST;
        }
        return null;
    }

    /**
     * The authority of an absolute-form target ({@code http://host:port/path}), which may be empty;
     * null for any other form. (A sender must not send userinfo in an http URI, RFC 9110 §4.2.4:
     * a target with one is refused.)
     */
    static String absoluteFormAuthority(String uri) {
        int start = uri.regionMatches(true, 0, "http://", 0, 7) ? 7 : uri.regionMatches(true, 0, "https://", 0, 8) ? 8 : -1;
        if (start < 0) {
            return null;
        }
        int end = start;
        while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?' && uri.charAt(end) != '#') {
            end++;
        }
        return uri.substring(start, end);
    }

    private void onRequestContent(HttpContent content) {
        if (ex == null || flight.requestComplete) {
            // The rest of a request already answered (and closing): nothing wants it.
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            // A bad chunk in the middle of a body: the upstream connection is closed before the
            // request is complete, so no backend ever sees a whole request built from it.
            content.release();
            flight.requestComplete = true;
            LOG.debug("rejected request body from {}: {}", peerAddress, content.decoderResult().cause().toString());
            if (flight.responseStarted) {
                abortExchange(FailureKind.BAD_REQUEST);
            } else {
                reply(FailureKind.BAD_REQUEST, false);
            }
            return;
        }
        ex.bodyIn(content.content().readableBytes());
        boolean last = content instanceof LastHttpContent;
        if (last) {
            flight.requestComplete = true;
            if (deadline == Deadline.BODY) {
                disarm();
            }
        } else if (deadline == Deadline.BODY) {
            // Moving the deadline later is a field write: the wheel re-files it when its slot comes.
            timedAt = gateway.nanoTime() + listener.bodyTimeoutNanos;
        }
        if (flight.upstream != null && flight.requestHeadWritten) {
            writeUpstream(content, last);
        } else {
            flight.pendingBody().add(content);
        }
    }

    /** The current exchange's upstream connection; null between exchanges and before one is bound. */
    private UpstreamConnection upstream() {
        return flight == null ? null : flight.upstream;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inClientRead = false;
        UpstreamConnection upstream = upstream();
        if (upstream != null) {
            upstream.flush();
        }
        if (flushAfterRead) {
            flushAfterRead = false;
            ctx.flush();
        }
        readClientIfReady();
    }

    /**
     * Reads the client only while there is somewhere to put what it sends: not while a pipelined
     * request waits its turn, and not while a request body has no writable upstream to go to.
     */
    private void readClientIfReady() {
        if (state == State.CLOSING) {
            return;
        }
        boolean bodyBlocked = ex != null && !flight.requestComplete
                && (flight.upstream == null || !flight.requestHeadWritten || !flight.upstream.channel().isWritable());
        boolean want = isEmpty(pipelined) && !bodyBlocked;
        if (ctx.channel().config().isAutoRead() != want) {
            ctx.channel().config().setAutoRead(want);
        }
    }

    // ---- Sluice → endpoint ----

    private void startAttempt() {
        startAttempt(gateway.nanoTime());
    }

    private void startAttempt(long now) {
        Endpoint endpoint = flight.cluster.pick(flight.triedEndpoints, now);
        if (endpoint == null && flight.retries > 0 && (flight.lastFailure == null || !flight.lastFailure.unprocessed())) {
            // A retry of the same work (a reset idempotent request, a retried status) after every
            // endpoint was tried once may revisit one.
            endpoint = flight.cluster.pick(0, now);
        }
        if (endpoint == null) {
            reply(flight.lastFailure != null ? flight.lastFailure : FailureKind.NO_HEALTHY_ENDPOINT, flight.clientKeepAlive);
            return;
        }
        flight.triedEndpoints |= flight.cluster.bitOf(endpoint);
        ConnectionPool pool = pools.pool(endpoint, flight.cluster.config().maxIdlePerEndpoint());
        // Prevention before retries: a request that could not be retried after a keep-alive
        // race only takes a connection too fresh to be closing, until the timeout is known.
        long maxIdle = retryableOnceSent() || endpoint.keepAliveTimeoutKnown()
                ? Long.MAX_VALUE : IdleTimeouts.UNLEARNED_NON_RETRYABLE_REUSE_NANOS;
        UpstreamConnection pooled = pool.acquire(now, maxIdle);
        if (pooled != null) {
            ex.attemptStarted(endpoint.address(), true, (now - pooled.idleSinceNanos()) / 1_000_000,
                    (now - pooled.createdNanos()) / 1_000_000);
            bind(pooled);
        } else {
            connect(endpoint);
        }
    }

    /** Whether a failure after sending could be retried: idempotent, and a body that fits the replay buffer. */
    private boolean retryableOnceSent() {
        if (!RetryPolicy.isIdempotent(flight.request.method(), flight.idempotencyKey) || !flight.bodyReplayable) {
            return false;
        }
        return flight.requestBodyless || !HttpUtil.isTransferEncodingChunked(flight.request)
                && HttpUtil.getContentLength(flight.request, Long.MAX_VALUE) <= REPLAY_LIMIT;
    }

    private void connect(Endpoint endpoint) {
        RequestLog owner = ex;
        flight.connectStartedNanos = gateway.nanoTime();
        ex.attemptStarted(endpoint.address(), false, -1, -1);
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, flight.cluster.config().connectTimeout().toMillis());
        gateway.connector().connect(ctx.channel().eventLoop(), endpoint, timeoutMillis)
                .addListener((Future<UpstreamConnection> f) -> onConnected(owner, endpoint, f));
    }

    private void onConnected(RequestLog owner, Endpoint endpoint, Future<UpstreamConnection> f) {
        if (owner != ex || state == State.CLOSING) {
            // The exchange ended (client gone, timeout) while connecting.
            if (f.isSuccess()) {
                f.getNow().close();
            }
            return;
        }
        ex.connected(gateway.nanoTime() - flight.connectStartedNanos);
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

    private void bind(UpstreamConnection connection) {
        flight.upstream = connection;
        connection.attach(this);
        connection.endpoint().attemptStarted();
        flight.requestHeadWritten = false;
        flight.requestFullyWritten = false;
        ChannelPromise headWritten = connection.channel().newPromise();
        headWritten.addListener((ChannelFutureListener) f -> onHeadWritten(connection, f.isSuccess()));
        connection.write(ex.host() == null ? HeaderPolicy.withHost(flight.request, connection.endpoint().address()) : flight.request,
                headWritten);
        flight.requestHeadWritten = true;
        boolean last = false;
        HttpContent part;
        while (flight.pendingBody != null && (part = flight.pendingBody.poll()) != null) {
            last = part instanceof LastHttpContent;
            writeUpstream(part, last);
        }
        connection.flush();
        if (flight.expectContinue && !flight.requestComplete && HttpVersion.HTTP_1_1.equals(flight.clientVersion)) {
            flight.expectContinue = false;
            toClient(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER), ctx.voidPromise());
            ctx.flush();
        }
        resumeUpstreamReads(connection);
        readClientIfReady();
    }

    private static void resumeUpstreamReads(UpstreamConnection connection) {
        if (!connection.channel().config().isAutoRead()) {
            connection.channel().config().setAutoRead(true);
        }
    }

    private void onHeadWritten(UpstreamConnection connection, boolean success) {
        if (connection != upstream()) {
            return;
        }
        if (!success) {
            // The write failed, so not one byte of this request left Sluice: typically a pooled
            // connection that died in the pool. Retrying on a fresh connection is safe.
            attemptFailed(FailureKind.CLOSED_BEFORE_SEND, connection.endpoint(), ex.connectionReused());
        } else if (flight.requestBodyless) {
            // Its end marker adds no bytes: the head was the whole request (see writeUpstream).
            onRequestSent();
        }
    }

    private void writeUpstream(HttpContent content, boolean last) {
        UpstreamConnection connection = flight.upstream;
        if (flight.bodyReplayable) {
            int size = content.content().readableBytes();
            if (last && size == 0 && ((LastHttpContent) content).trailingHeaders().isEmpty()) {
                flight.replayEndsEmpty = true;
            } else if (flight.replayBytes + size <= REPLAY_LIMIT) {
                flight.replayBytes += size;
                if (flight.replay == null) {
                    flight.replay = new ArrayDeque<>(2);
                }
                flight.replay.add(content.retainedDuplicate());
            } else {
                flight.bodyReplayable = false;
                releaseAll(flight.replay);
            }
        }
        if (last && !flight.requestBodyless) {
            ChannelPromise sent = connection.channel().newPromise();
            sent.addListener((ChannelFutureListener) f -> {
                if (f.isSuccess() && connection == upstream()) {
                    onRequestSent();
                }
            });
            connection.write(content, sent);
        } else {
            // A bodyless request's empty end marker needs no promise of its own (one promise and
            // listener less per GET): the head's says when the request was sent.
            connection.write(content);
        }
    }

    private void onRequestSent() {
        flight.requestFullyWritten = true;
        long now = gateway.nanoTime();
        ex.sent(now);
        if (flight.deadlineNanos == 0) {
            // One deadline for the whole request: retries never stretch it.
            flight.deadlineNanos = now + flight.route.timeoutNanos();
        }
        if (!flight.responseStarted) {
            arm(Deadline.RESPONSE, Math.max(0, flight.deadlineNanos - now), now);
        }
    }

    private RetryPolicy.Attempted attempted(boolean reused, boolean endpointsLeft, long now) {
        return new RetryPolicy.Attempted(flight.request.method(), flight.idempotencyKey, flight.bodyReplayable, flight.responseStarted, flight.retries,
                endpointsLeft, reused, flight.deadlineNanos == 0 ? Long.MAX_VALUE : flight.deadlineNanos - now);
    }

    /**
     * One attempt failed. Records it (and the endpoint's passive health), asks the retry policy,
     * and either tries again or answers the client with the failure.
     */
    private void attemptFailed(FailureKind kind, Endpoint endpoint, boolean reused) {
        flight.heldHead = null;
        closeUpstream();
        disarmUnlessBody();
        long now = gateway.nanoTime();
        boolean pooledDeath = kind == FailureKind.CLOSED_BEFORE_SEND && reused;
        if (!pooledDeath && kind != FailureKind.BAD_RESPONSE) {
            endpoint.recordFailure(now, flight.cluster.mayEject(now));
        }
        flight.lastFailure = kind;
        boolean endpointsLeft = Long.bitCount(flight.triedEndpoints) < flight.cluster.size();
        RetryDecision decision = flight.route.retryPolicy().decide(kind, attempted(reused, endpointsLeft, now),
                flight.cluster.retryBudget(), now);
        ex.attemptEnded(kind, decision.reason());
        if (!decision.retries()) {
            reply(kind, flight.clientKeepAlive && flight.requestComplete && kind != FailureKind.BAD_RESPONSE);
            return;
        }
        if (!pooledDeath) {
            flight.retries++;
        }
        retryAfter(decision.delayNanos(), pooledDeath ? endpoint : null);
    }

    /** Sends the request again after {@code delayNanos}: to {@code sameEndpoint} on a fresh connection, or as the balancer picks. */
    private void retryAfter(long delayNanos, Endpoint sameEndpoint) {
        resendBodyFromReplay();
        flight.requestHeadWritten = false;
        flight.requestFullyWritten = false;
        Runnable attempt = sameEndpoint != null ? () -> connect(sameEndpoint) : this::startAttempt;
        if (delayNanos <= 0) {
            attempt.run();
            return;
        }
        RequestLog owner = ex;
        ctx.executor().schedule(() -> {
            if (ex == owner && state != State.CLOSING) {
                attempt.run();
            }
        }, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** Puts the body parts already sent back in front of those not yet sent. */
    private void resendBodyFromReplay() {
        if (flight.replayEndsEmpty) {
            // Sent last, so it goes in front of nothing: the parts below go in front of it.
            flight.replayEndsEmpty = false;
            flight.pendingBody().addFirst(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        HttpContent part;
        while (flight.replay != null && (part = flight.replay.pollLast()) != null) {
            flight.pendingBody().addFirst(part);
        }
        flight.replayBytes = 0;
    }

    // ---- endpoint → Sluice → client ----

    @Override
    public void onResponseObject(UpstreamConnection connection, Object msg) {
        if (connection != upstream()) {
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
            LOG.debug("bad response from {}: {}", ex.endpoint(), response.decoderResult().cause().toString());
            upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        int status = response.status().code();
        if (status < 200) {
            // Sluice never asks for an upgrade (Upgrade is hop-by-hop), so 101 is a protocol error.
            if (status == 101) {
                upstreamFailed(FailureKind.BAD_RESPONSE);
                return;
            }
            flight.awaitingFinalAfterInterim = true;
            // 100 Continue was Sluice's to send; other interim responses (103 Early Hints)
            // go to HTTP/1.1 clients, which must accept them (RFC 9110 §15.2).
            if (status != 100 && HttpVersion.HTTP_1_1.equals(flight.clientVersion)) {
                HeaderPolicy.removeHopByHop(response.headers());
                toClient(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, response.status(), Unpooled.EMPTY_BUFFER,
                        response.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE), ctx.voidPromise());
            }
            return;
        }
        disarmUnlessBody();
        UpstreamConnection connection = flight.upstream;
        connection.endpoint().recordSuccess();
        ex.firstByte(gateway.nanoTime(), status);
        if (flight.route.retryPolicy().retriesStatus(status) && retryOnStatus(connection, status, response)) {
            return;
        }
        boolean http11Client = HttpVersion.HTTP_1_1.equals(flight.clientVersion);
        if (response instanceof ReceivedResponse raw && raw.verbatim()) {
            // The common case: framed by its length (or bodyless), no transfer coding, Connection
            // naming nothing but close or keep-alive. Its lines go out as they came, less the
            // hop-by-hop ones, with Via (and Connection) added; no header map is made.
            connection.learn(KeepAlive.parse(raw.keepAliveField()));
            flight.upstreamReusable = raw.keepAlive() && flight.requestFullyWritten;
            flight.responseKeepAlive = flight.clientKeepAlive && flight.requestComplete;
            raw.forwardVerbatim(HeaderPolicy.addedResponseFields(flight.responseKeepAlive, http11Client));
        } else {
            forwardMapped(response, connection, http11Client);
        }
        flight.awaitingFinalAfterInterim = false;
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        flight.heldHead = response;
    }

    /** Any other response: its header map is edited and forwarded. */
    private void forwardMapped(HttpResponse response, UpstreamConnection connection, boolean http11Client) {
        HttpHeaders headers = response.headers();
        connection.learn(KeepAlive.parse(headers.get(HttpHeaderNames.KEEP_ALIVE)));
        flight.upstreamReusable = HttpUtil.isKeepAlive(response);

        boolean bodyless = encoder.isBodyless(response);
        boolean chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean closeDelimited = !bodyless && !chunked && !headers.contains(HttpHeaderNames.CONTENT_LENGTH);
        if (closeDelimited || !flight.requestFullyWritten) {
            // The backend ends this body by closing, or answered before it read the whole request.
            flight.upstreamReusable = false;
        }
        HeaderPolicy.removeHopByHop(headers);
        HeaderPolicy.appendVia(headers);

        flight.responseKeepAlive = flight.clientKeepAlive && flight.requestComplete;
        if (closeDelimited && http11Client && !HttpMethod.HEAD.name().equals(ex.method())) {
            // Re-frame a close-delimited body as chunked so the client connection survives it.
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else if (closeDelimited || chunked && !http11Client) {
            // An HTTP/1.0 client cannot read chunked: the body ends when we close.
            headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
            flight.responseKeepAlive = false;
        }
        if (!flight.responseKeepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (!http11Client) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    /**
     * The route opted to retry this backend status: if the policy agrees, the response is
     * dropped with its connection and the request goes out again. Returns whether it did.
     */
    private boolean retryOnStatus(UpstreamConnection connection, int status, HttpResponse response) {
        long now = gateway.nanoTime();
        boolean endpointsLeft = Long.bitCount(flight.triedEndpoints) < flight.cluster.size();
        RetryDecision decision = flight.route.retryPolicy().decideOnStatus(status, retryAfterNanos(response.headers()),
                attempted(ex.connectionReused(), endpointsLeft, now), flight.cluster.retryBudget(), now);
        ex.attemptEnded(null, decision.reason());
        if (!decision.retries()) {
            return false;
        }
        detachUpstream(connection);
        connection.close();
        flight.retries++;
        flight.lastFailure = null;
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
        if (flight.awaitingFinalAfterInterim) {
            // The empty "last content" the decoder emits after each 1xx: not the real body.
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        ex.bodyOut(content.content().readableBytes());
        if (flight.heldHead != null) {
            if (flight.responseKeepAlive && gateway.closesAfterResponse(ctx.channel())) {
                // A drain (or this listener's removal) began: decided as the head goes out, so the
                // promise made to the client holds however long the body takes.
                flight.responseKeepAlive = false;
                if (flight.heldHead instanceof ReceivedResponse raw && raw.forwardedVerbatim()) {
                    raw.forwardVerbatim(HeaderPolicy.addedResponseFields(false, HttpVersion.HTTP_1_1.equals(flight.clientVersion)));
                } else {
                    flight.heldHead.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                }
            }
            ex.responded(flight.heldHead.status().code());
            toClient(flight.heldHead, ctx.voidPromise());
            flight.heldHead = null;
            flight.responseStarted = true;
        }
        if (content instanceof LastHttpContent) {
            toClient(content, ctx.voidPromise());
            onResponseComplete();
        } else {
            toClient(content, ctx.voidPromise());
        }
    }

    private void onResponseComplete() {
        UpstreamConnection connection = flight.upstream;
        detachUpstream(null);
        long now = gateway.nanoTime();
        ex.completed(now);
        if (flight.upstreamReusable && flight.requestFullyWritten) {
            ConnectionPool pool = pools.pool(connection.endpoint(), flight.cluster.config().maxIdlePerEndpoint());
            pool.release(connection, now, connection.idleTimeoutNanos(flight.cluster.config()));
        } else {
            connection.close();
        }
        endExchange(flight.responseKeepAlive, now);
    }

    @Override
    public void onUpstreamReadComplete(UpstreamConnection connection) {
        if (connection != upstream()) {
            return;
        }
        ctx.flush();
        if (!ctx.channel().isWritable()) {
            // The client is slower than the endpoint: stop reading it until the client catches up.
            connection.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamConnection upstream = upstream();
        if (ctx.channel().isWritable() && upstream != null) {
            resumeUpstreamReads(upstream);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void onUpstreamWritabilityChanged(UpstreamConnection connection) {
        if (connection == upstream() && connection.channel().isWritable()) {
            readClientIfReady();
        }
    }

    @Override
    public void onUpstreamClosed(UpstreamConnection connection, Throwable cause) {
        if (connection != upstream()) {
            return;
        }
        if (cause != null) {
            LOG.debug("upstream {} failed: {}", connection.endpoint(), cause.toString());
        }
        if (!flight.requestHeadWritten) {
            attemptFailed(FailureKind.CLOSED_BEFORE_SEND, connection.endpoint(), ex.connectionReused());
        } else if (flight.responseStarted) {
            upstreamFailed(FailureKind.RESPONSE_TRUNCATED);
        } else {
            upstreamFailed(FailureKind.RESET_BEFORE_RESPONSE);
        }
    }

    /** The endpoint failed this exchange after the request went out. */
    private void upstreamFailed(FailureKind kind) {
        UpstreamConnection connection = closeUpstream();
        if (flight.responseStarted) {
            if (kind != FailureKind.BAD_RESPONSE && connection != null) {
                connection.endpoint().recordFailure(gateway.nanoTime(), flight.cluster.mayEject(gateway.nanoTime()));
            }
            abortExchange(kind);
        } else {
            attemptFailed(kind, connection.endpoint(), ex.connectionReused());
        }
    }

    /** Detaches and closes the exchange's upstream connection, if it has one; returns it (or null). */
    private UpstreamConnection closeUpstream() {
        UpstreamConnection connection = flight.upstream;
        if (connection != null) {
            detachUpstream(connection);
            connection.close();
        }
        return connection;
    }

    private void detachUpstream(UpstreamConnection expected) {
        if (flight.upstream != null && (expected == null || flight.upstream == expected)) {
            flight.upstream.endpoint().attemptEnded();
            flight.upstream.detach();
            flight.upstream = null;
        }
    }

    // ---- local replies, endings ----

    /** Answers the current request with a local reply of {@code kind}. */
    private void reply(FailureKind kind, boolean keepAlive) {
        disarm();
        closeUpstream();
        ex.failed(kind);
        ex.responded(kind.status().code());
        // A request whose body was not read to its end leaves the connection mid-message: close it.
        // (A bodyless request's empty end marker still follows; it is dropped when it arrives.)
        boolean keep = keepAlive && (flight.requestComplete || flight.requestBodyless) && !gateway.closesAfterResponse(ctx.channel());
        HttpResponse response = LocalReply.build(ctx.alloc(), kind, ex.route(), ex.requestId(), keep);
        if (!HttpVersion.HTTP_1_1.equals(flight.clientVersion) && keep) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ex.bodyOut(((io.netty.handler.codec.http.FullHttpResponse) response).content().readableBytes());
        ex.completed(gateway.nanoTime());
        toClient(response, ctx.voidPromise());
        endExchange(keep);
    }

    /** The response head already went out: all that is left is to cut the stream. */
    private void abortExchange(FailureKind kind) {
        ex.failed(kind);
        ex.completed(gateway.nanoTime());
        endExchange(false);
        ctx.close();
    }

    private void endExchange(boolean keepAlive) {
        endExchange(keepAlive, gateway.nanoTime());
    }

    private void endExchange(boolean keepAlive, long now) {
        gateway.exchangeFinished(ex);
        ex = null;
        Flight done = flight;
        flight = null;
        releaseAll(done.pendingBody);
        releaseAll(done.replay);
        // (When a drain starts mid-response, the next response says Connection: close instead:
        // closing now would lose a request the client may already be sending.)
        if (!keepAlive) {
            state = State.CLOSING;
            releaseAll(pipelined);
            ChannelPromise closeAfter = ctx.newPromise();
            closeAfter.addListener(ChannelFutureListener.CLOSE);
            toClient(Unpooled.EMPTY_BUFFER, closeAfter);
            ctx.flush();
            return;
        }
        if (inClientRead) {
            flushAfterRead = true;
        } else {
            ctx.flush();
        }
        state = State.IDLE;
        arm(Deadline.IDLE, listener.idleTimeoutNanos, now);
        Object next;
        while (state != State.CLOSING && !(ex != null && flight.requestComplete) && pipelined != null && (next = pipelined.poll()) != null) {
            handleInbound(next);
        }
        if (state == State.IDLE && nextHeadStarted) {
            // Part of the next head is already here: the rest must come within the header timeout.
            nextHeadStarted = false;
            state = State.READING_HEAD;
            arm(Deadline.HEAD, listener.headerTimeoutNanos, now);
        }
        UpstreamConnection upstream = upstream();
        if (upstream != null) {
            // Body parts replayed from the pipeline queue are written outside a read cycle.
            upstream.flush();
        }
        readClientIfReady();
    }

    private static boolean isEmpty(ArrayDeque<?> queue) {
        return queue == null || queue.isEmpty();
    }

    private static void releaseAll(ArrayDeque<?> queue) {
        if (queue == null) {
            return;
        }
        Object o;
        while ((o = queue.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        if (ex != null) {
            ex.clientWentAway();
            ex.completed(gateway.nanoTime());
            closeUpstream();
            gateway.exchangeFinished(ex);
            ex = null;
        }
        state = State.CLOSING;
        if (flight != null) {
            releaseAll(flight.pendingBody);
            releaseAll(flight.replay);
            flight = null;
        }
        releaseAll(pipelined);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event == Gateway.DrainEvent.INSTANCE) {
            // Between requests: nothing is lost by closing now. Mid-exchange, the response
            // carries Connection: close instead (see onResponseContent and reply).
            if (ex == null && state == State.IDLE && isEmpty(pipelined)) {
                state = State.CLOSING;
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    /**
     * Writes a response part to the client through the encoder, which is not a pipeline handler:
     * called directly, it saves a pipeline hop per write and a handler context per connection,
     * and the encoded parts pass through one list per event loop instead of one per connection.
     * A failure to encode is handled as a pipeline would: the promise fails, or, for a void
     * promise, the connection closes as after any unexpected error.
     */
    private void toClient(Object msg, ChannelPromise promise) {
        ArrayList<Object> out = ENCODED.get();
        Throwable failure = null;
        try {
            encoder.encodeTo(ctx, msg, out);
        } catch (Throwable t) {
            failure = t;
        }
        // Taken off the shared list before any write: a failed write can close a connection
        // whose handlers encode again.
        int n = out.size();
        ChannelPromise last = failure == null ? promise : ctx.voidPromise();
        if (n == 1) {
            Object part = out.get(0);
            out.clear();
            ctx.write(part, last);
        } else if (n > 1) {
            Object[] parts = out.toArray();
            out.clear();
            for (int i = 0; i < n; i++) {
                ctx.write(parts[i], i == n - 1 ? last : ctx.voidPromise());
            }
        } else if (failure == null) {
            promise.trySuccess();
        }
        if (failure != null && (promise.isVoid() || !promise.tryFailure(failure))) {
            exceptionCaught(ctx, failure);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            LOG.warn("closing client connection from {} after an unexpected error", peerAddress, cause);
        }
        ctx.close();
    }

    // ---- the connection's one deadline ----

    private void arm(Deadline kind, long delayNanos) {
        arm(kind, delayNanos, gateway.nanoTime());
    }

    private void arm(Deadline kind, long delayNanos, long now) {
        deadline = kind;
        if (kind == Deadline.IDLE) {
            // delayNanos is the listener's idle timeout, which its idle list applies.
            idle.add(this, now);
        } else {
            deadlines.add(this, now + delayNanos);
        }
    }

    private void disarm() {
        deadline = Deadline.NONE;
        unlink();
    }

    /**
     * Ends the response deadline (a response began, or the attempt failed), but not the body's:
     * a client still sending its body must keep sending, through a retry or an early response.
     */
    private void disarmUnlessBody() {
        if (deadline != Deadline.BODY) {
            disarm();
        }
    }

    @Override
    void idleExpired() {
        deadline = Deadline.NONE;
        if (state != State.CLOSING) {
            state = State.CLOSING;
            ctx.close();
        }
    }

    @Override
    void deadlinePassed() {
        if (deadline == Deadline.NONE || deadline == Deadline.IDLE || state == State.CLOSING) {
            return;
        }
        Deadline fired = deadline;
        deadline = Deadline.NONE;
        try {
            onDeadline(fired);
        } catch (RuntimeException e) {
            // As Netty does for a handler's exception: this connection is closed, no other is touched.
            exceptionCaught(ctx, e);
        }
    }

    private void onDeadline(Deadline fired) {
        switch (fired) {
            case HEAD -> {
                gateway.exchangeStarted();
                ex = new RequestLog(gateway.clock().millis(), gateway.nanoTime());
                flight = new Flight();
                ex.received(HeaderPolicy.newRequestId(), peerAddress, null, null, null, null);
                flight.clientVersion = HttpVersion.HTTP_1_1;
                flight.requestComplete = true;
                state = State.EXCHANGE;
                reply(FailureKind.REQUEST_HEADER_TIMEOUT, false);
            }
            case BODY -> {
                if (ex != null && !flight.requestComplete) {
                    // The endpoint holds half a request: its connection is closed with the reply.
                    flight.requestComplete = true;
                    if (flight.responseStarted) {
                        abortExchange(FailureKind.REQUEST_BODY_TIMEOUT);
                    } else {
                        reply(FailureKind.REQUEST_BODY_TIMEOUT, false);
                    }
                }
            }
            case RESPONSE -> {
                if (ex != null && !flight.responseStarted && flight.upstream != null) {
                    attemptFailed(FailureKind.RESPONSE_TIMEOUT, flight.upstream.endpoint(), ex.connectionReused());
                }
            }
            case NONE, IDLE -> { } // IDLE: the idle list's timer, see idleExpired()
        }
    }
}
