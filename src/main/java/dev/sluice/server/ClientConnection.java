package dev.sluice.server;

import dev.sluice.exchange.Downstream;
import dev.sluice.exchange.Exchange;
import dev.sluice.exchange.ExchangeContext;
import dev.sluice.exchange.HeaderPolicy;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.GrpcStatus;
import dev.sluice.failure.LocalReply;
import dev.sluice.failure.ReplyFields;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.StrictRequestDecoder;
import dev.sluice.observe.RequestLog;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/1.1 client connection: reads request heads, keeps pipelined requests in order, runs
 * the connection's deadlines, decides keep-alive and close, drains, and writes responses and
 * local replies. Each request is taken through the gateway by an {@link Exchange}; this class is
 * its {@link Downstream}, and frames what the exchange hands it for HTTP/1.1 clients.
 *
 * <p>Requests are served one at a time, in order (pipelined requests wait, decoded, until the
 * response before them is complete). The client is read only while its request body has
 * somewhere to go ({@link Exchange#acceptsBody()}) and no pipelined request waits. Reads stay on
 * ({@code AUTO_READ}) and are switched off only then: toggling read interest costs an
 * {@code epoll_ctl} each way, so doing it per request would cost throughput for nothing.
 *
 * <p>The pipeline is {@code StrictRequestDecoder → this}; responses are encoded by a
 * {@link ResponseEncoder} this handler calls itself ({@link #toClient}).
 */
final class ClientConnection extends ChannelInboundHandlerAdapter
        implements Downstream, StrictRequestDecoder.HeadProgress, ConnectionDeadline.Expiry {
    private static final Logger LOG = LoggerFactory.getLogger(ClientConnection.class);
    private enum State { IDLE, READING_HEAD, EXCHANGE, CLOSING }

    private final Gateway gateway;
    private final ListenerRuntime listener;
    /** Not in the pipeline: {@link #toClient} calls it. */
    private final ResponseEncoder encoder = new ResponseEncoder();
    private ChannelHandlerContext ctx;
    private ExchangeContext exchanges;
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
    // costs (10,000 idle connections are 10,000 of it): the queue is made on first use, and the
    // request's own state lives in its Exchange and RequestLog, dropped when it ends.

    /** Messages of pipelined requests decoded while an earlier response is still running. */
    private ArrayDeque<Object> pipelined;

    /** The current request's timeline; null between requests. */
    private RequestLog log;
    /** The current request's exchange; null between requests and for one answered before it was routed. */
    private Exchange exchange;
    // What HTTP/1.1 framing needs to know of the current request.
    private HttpVersion clientVersion;
    /** The current request's head once it passed the checks; null before (a reply then is never gRPC's). */
    private HttpRequest requestHead;
    private boolean clientKeepAlive;
    private boolean expectContinue;
    private boolean requestComplete;
    private boolean requestBodyless;
    private boolean responseKeepAlive;

    private ConnectionDeadline deadline;

    ClientConnection(Gateway gateway, ListenerRuntime listener) {
        this.gateway = gateway;
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.exchanges = gateway.exchanges(ctx.channel().eventLoop());
        this.deadline = new ConnectionDeadline(this, listener.waitingConnections(ctx.channel().eventLoop(),
                gateway.nanoClock()), gateway.deadlines(ctx.channel().eventLoop()));
    }

    /** Replaced by HTTP/2's handlers (ALPN chose h2, or the h2c preface came): its idle deadline goes with it. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        deadline.disarm();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress peer) {
            this.peerAddress = PeerNames.of(peer.getAddress());
            this.peerTrusted = listener.isTrustedProxy(peer);
        } else {
            this.peerAddress = "-";
        }
        deadline.idleFrom(gateway.nanoTime());
    }

    @Override
    public void partialHead() {
        if (state == State.IDLE) {
            state = State.READING_HEAD;
            deadline.headFrom(gateway.nanoTime());
        } else if (state == State.EXCHANGE) {
            nextHeadStarted = true;
        }
    }

    // Requests, client → Sluice.

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inClientRead = true;
        if (state == State.CLOSING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (log != null && requestComplete) {
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
        deadline.disarm();
        nextHeadStarted = false;
        long now = begin(head.protocolVersion());
        // The common request, forwarded from its bytes unless something asks for its header map.
        ReceivedRequest received = head instanceof ReceivedRequest r && r.verbatim() ? r : null;
        log.received(null, peerAddress, head.method().name(), head.uri(), head.protocolVersion().text(),
                received != null ? received.host() : head.headers().get(HttpHeaderNames.HOST));
        if (gateway.accessLog().enabled()) {
            // Only the access log reads them: no strings made for a gateway that logs nothing.
            log.clientSent(received != null ? received.userAgent() : head.headers().get(HttpHeaderNames.USER_AGENT),
                    received != null ? received.referer() : head.headers().get(HttpHeaderNames.REFERER));
        }
        encoder.answeringHead(HttpMethod.HEAD.equals(head.method()));

        if (head.decoderResult().isFailure()) {
            requestComplete = true;
            log.requestIdIs(gateway.newRequestId());
            log.traceparentIs(dev.sluice.http.TraceParent.start(), true);
            Throwable cause = head.decoderResult().cause();
            LOG.debug("rejected request from {}: {}", peerAddress, cause.toString());
            reply(RequestChecks.rejectionKind(cause), true);
            return;
        }
        // The client's fields, counted before Sluice adds its own (x-request-id, traceparent).
        int fields = received != null ? received.fieldCount() : head.headers().size();
        // A received request has no x-request-id, no body and no Expect (ReceivedRequest.verbatim).
        log.requestIdIs(received != null ? gateway.newRequestId()
                : HeaderPolicy.ensureRequestId(head.headers(), gateway.requestIds()));
        // W3C trace context: a valid traceparent goes on as it came, else Sluice starts one (TraceParent).
        if (received != null) {
            String sent = received.traceparent();
            log.traceparentIs(sent != null ? sent : dev.sluice.http.TraceParent.start(), sent == null);
        } else {
            dev.sluice.http.TraceParent.Kept kept = dev.sluice.http.TraceParent.ensure(head.headers());
            log.traceparentIs(kept.value(), kept.started());
        }
        requestBodyless = received != null
                || !HttpUtil.isTransferEncodingChunked(head) && HttpUtil.getContentLength(head, 0L) == 0;
        RequestChecks.Verdict verdict = RequestChecks.check(head, fields,
                received != null ? received.hostCount() : head.headers().getAll(HttpHeaderNames.HOST).size(), listener.config.maxHeaders());
        if (verdict instanceof RequestChecks.Verdict.Refused refused) {
            reply(refused.kind(), true);
            return;
        }
        if (received == null) {
            // RFC 9112 §3.2.2: with an absolute-form target, its authority is the request's host,
            // whatever Host says. Routing and the endpoint must agree on it, or a route chosen by
            // Host would carry a request meant for another virtual host.
            RequestChecks.absoluteFormAuthority(head.uri()).ifPresent(authority -> {
                head.headers().set(HttpHeaderNames.HOST, authority);
                log.hostIs(authority);
            });
        }
        // The decoder's strict token reading: Netty's isKeepAlive trims obs-text (signed bytes) off a token.
        clientKeepAlive = head instanceof ReceivedRequest r ? r.keepAlive() : HttpUtil.isKeepAlive(head);
        expectContinue = received == null && HttpUtil.is100ContinueExpected(head);
        if (!requestBodyless) {
            deadline.at(ConnectionDeadline.Kind.BODY, now + listener.bodyTimeoutNanos);
        }
        // A request forwarded from its bytes has no Connection token but close and keep-alive, so no
        // upgrade; only one with its header map made already is looked at (making it costs the verbatim path).
        boolean webSocket = received == null && Tunnel.webSocketRequested(head);
        requestHead = head;
        exchange = new Exchange(exchanges, this, log, head, received, peerAddress, peerTrusted, listener,
                requestBodyless, listener.config.maxBody().orElse(-1));
        if (webSocket) {
            exchange.forwardsWebSocketUpgrade();
        }
        exchange.start(now, listener.redirectHttps);
    }

    /** A request begins (a head, or a head that never came in time): its timeline and the connection's state for it. */
    private long begin(HttpVersion version) {
        state = State.EXCHANGE;
        gateway.exchangeStarted();
        long now = gateway.nanoTime();
        log = new RequestLog(gateway.clock().millis(), now);
        clientVersion = version;
        requestHead = null;
        requestComplete = false;
        expectContinue = false;
        clientKeepAlive = false;
        requestBodyless = false;
        responseKeepAlive = false;
        return now;
    }

    private void onRequestContent(HttpContent content) {
        if (log == null || requestComplete) {
            // The rest of a request already answered (and closing): nothing wants it.
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            // A bad chunk in the middle of a body: the upstream connection is closed before the
            // request is complete, so no backend ever sees a whole request built from it.
            content.release();
            requestComplete = true;
            LOG.debug("rejected request body from {}: {}", peerAddress, content.decoderResult().cause().toString());
            exchange.requestFailed(FailureKind.BAD_REQUEST);
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
            deadline.disarm(ConnectionDeadline.Kind.BODY);
        } else {
            deadline.extendBody(gateway.nanoTime() + listener.bodyTimeoutNanos);
        }
        exchange.requestContent(content, last);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inClientRead = false;
        if (exchange != null) {
            exchange.flushUpstream();
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
        boolean bodyBlocked = log != null && !requestComplete && (exchange == null || !exchange.acceptsBody());
        boolean want = isEmpty(pipelined) && !bodyBlocked;
        if (ctx.channel().config().isAutoRead() != want) {
            ctx.channel().config().setAutoRead(want);
        }
    }

    @Override
    public void bodyWanted() {
        if (expectContinue && !requestComplete && HttpVersion.HTTP_1_1.equals(clientVersion)) {
            expectContinue = false;
            toClient(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER), ctx.voidPromise());
            ctx.flush();
        }
        readClientIfReady();
    }

    // Responses, Sluice → client.

    @Override
    public void interim(HttpResponse interim) {
        // Interim responses (103 Early Hints) go to HTTP/1.1 clients, which must accept them (RFC 9110 §15.2).
        if (HttpVersion.HTTP_1_1.equals(clientVersion)) {
            toClient(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, interim.status(), Unpooled.EMPTY_BUFFER,
                    interim.headers(), EmptyHttpHeaders.INSTANCE), ctx.voidPromise());
        }
    }

    @Override
    public void respond(HttpResponse head) {
        // Decided as the head goes out (a drain or this listener's removal may have begun), so the
        // promise made to the client holds however long the body takes.
        boolean keepAlive = clientKeepAlive && requestComplete && !gateway.closesAfterResponse(ctx.channel());
        responseKeepAlive = encoder.frame(head, HttpVersion.HTTP_1_1.equals(clientVersion), keepAlive);
        log.responded(head.status().code());
        toClient(head, ctx.voidPromise());
    }

    @Override
    public void respond(HttpContent part) {
        toClient(part, ctx.voidPromise());
    }

    @Override
    public void responseComplete() {
        long now = gateway.nanoTime();
        log.completed(now);
        endExchange(responseKeepAlive, now);
    }

    @Override
    public boolean flush() {
        ctx.flush();
        return ctx.channel().isWritable();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && exchange != null) {
            exchange.clientWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** Answers the current request with a local reply of {@code kind}, with {@code fields} added. */
    @Override
    public void reply(FailureKind kind, ReplyFields fields, boolean close) {
        deadline.disarm();
        log.failed(kind);
        // A request whose body was not read to its end leaves the connection mid-message: close it.
        // (A bodyless request's empty end marker still follows; it is dropped when it arrives.)
        boolean keep = !close && clientKeepAlive && (requestComplete || requestBodyless)
                && !gateway.closesAfterResponse(ctx.channel());
        FullHttpResponse response = grpcRequested()
                ? LocalReply.grpc(ctx.alloc(), kind, fields, keep)
                : LocalReply.build(ctx.alloc(), kind, fields, log.route(), log.requestId(), keep);
        if (!HttpVersion.HTTP_1_1.equals(clientVersion) && keep) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        log.responded(response.status().code());
        log.bodyOut(response.content().readableBytes());
        long now = gateway.nanoTime();
        log.completed(now);
        toClient(response, ctx.voidPromise());
        endExchange(keep, now);
    }

    /** Whether the current request is a gRPC call (read only when Sluice answers it itself). */
    private boolean grpcRequested() {
        if (requestHead == null) {
            return false;
        }
        CharSequence contentType = requestHead instanceof dev.sluice.http.ReceivedRequest received
                ? received.field(HttpHeaderNames.CONTENT_TYPE) : requestHead.headers().get(HttpHeaderNames.CONTENT_TYPE);
        return GrpcStatus.requested(contentType);
    }

    @Override
    public void abort(FailureKind kind) {
        log.failed(kind);
        long now = gateway.nanoTime();
        log.completed(now);
        endExchange(false, now);
        ctx.close();
    }

    private void endExchange(boolean keepAlive, long now) {
        gateway.exchangeFinished(log);
        log = null;
        exchange = null;
        // (When a drain starts mid-response, the next response says Connection: close instead:
        // closing now would lose a request the client may already be sending.)
        if (!keepAlive) {
            state = State.CLOSING;
            dropPipelined();
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
        deadline.idleFrom(now);
        Object next;
        while (state != State.CLOSING && !(log != null && requestComplete) && pipelined != null
                && (next = pipelined.poll()) != null) {
            handleInbound(next);
        }
        if (state == State.IDLE && nextHeadStarted) {
            // Part of the next head is already here: the rest must come within the header timeout.
            nextHeadStarted = false;
            state = State.READING_HEAD;
            deadline.headFrom(now);
        }
        if (exchange != null) {
            // Body parts replayed from the pipeline queue are written outside a read cycle.
            exchange.flushUpstream();
        }
        readClientIfReady();
    }

    private static boolean isEmpty(ArrayDeque<?> queue) {
        return queue == null || queue.isEmpty();
    }

    /** Drops the pipelined requests not yet served: their connection is closing. */
    private void dropPipelined() {
        if (pipelined != null) {
            pipelined.forEach(ReferenceCountUtil::release);
            pipelined.clear();
        }
    }


    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadline.disarm();
        if (log != null) {
            log.clientWentAway();
            log.completed(gateway.nanoTime());
            if (exchange != null) {
                exchange.cancel();
            }
            gateway.exchangeFinished(log);
            log = null;
            exchange = null;
        }
        state = State.CLOSING;
        dropPipelined();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event == Gateway.DrainEvent.INSTANCE) {
            // Between requests: nothing is lost by closing now. Mid-exchange, the response
            // carries Connection: close instead (see respond and reply).
            if (log == null && state == State.IDLE && isEmpty(pipelined)) {
                state = State.CLOSING;
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    private void toClient(Object msg, ChannelPromise promise) {
        encoder.write(ctx, msg, promise);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            LOG.warn("closing client connection from {} after an unexpected error", peerAddress, cause);
        }
        ctx.close();
    }

    /**
     * The endpoint accepted the client's WebSocket upgrade: the 101 goes to the client, the
     * request's log line is written (status 101), and this connection stops being HTTP: its
     * handlers give way to a {@link Tunnel} with {@code upstream}.
     */
    @Override
    public void tunnel(HttpResponse switching, io.netty.channel.Channel upstream) {
        deadline.disarm();
        log.responded(101);
        long now = gateway.nanoTime();
        log.completed(now);
        gateway.exchangeFinished(log);
        log = null;
        exchange = null;
        state = State.CLOSING;
        dropPipelined();
        switching.setProtocolVersion(HttpVersion.HTTP_1_1);
        toClient(switching, ctx.voidPromise());
        ctx.flush();
        Tunnel.join(ctx.channel(), upstream, listener.config.webSocketIdleTimeout(), gateway.tunnels());
    }

    @Override
    public boolean secure() {
        return listener.tls.isPresent();
    }

    // The connection's one deadline.

    @Override
    public void responseDeadline(long atNanos) {
        deadline.at(ConnectionDeadline.Kind.RESPONSE, atNanos);
    }

    /** A client still sending its body must keep sending, through a retry or an early response. */
    @Override
    public void responseDeadlineMet() {
        deadline.disarm(ConnectionDeadline.Kind.RESPONSE);
    }

    @Override
    public void idleExpired() {
        if (state != State.CLOSING) {
            state = State.CLOSING;
            ctx.close();
        }
    }

    @Override
    public void deadlinePassed(ConnectionDeadline.Kind fired) {
        if (state == State.CLOSING) {
            return;
        }
        try {
            switch (fired) {
                case HEAD -> {
                    begin(HttpVersion.HTTP_1_1);
                    log.received(gateway.newRequestId(), peerAddress, null, null, null, null);
                    requestComplete = true;
                    reply(FailureKind.REQUEST_HEADER_TIMEOUT, true);
                }
                case BODY -> {
                    if (log != null && !requestComplete) {
                        requestComplete = true;
                        exchange.requestFailed(FailureKind.REQUEST_BODY_TIMEOUT);
                    }
                }
                case RESPONSE -> {
                    if (exchange != null) {
                        exchange.responseTimedOut();
                    }
                }
                case NONE, IDLE -> { }
            }
        } catch (RuntimeException e) {
            // As Netty does for a handler's exception: this connection is closed, no other is touched.
            exceptionCaught(ctx, e);
        }
    }
}
