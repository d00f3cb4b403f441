package dev.sluice.server;

import dev.sluice.exchange.Downstream;
import dev.sluice.exchange.Exchange;
import dev.sluice.exchange.ExchangeContext;
import dev.sluice.exchange.HeaderPolicy;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.GrpcStatus;
import dev.sluice.failure.LocalReply;
import dev.sluice.failure.ReplyFields;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.http.TraceParent;
import dev.sluice.observe.RequestLog;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 stream: one request, taken through the gateway by an {@link Exchange} exactly as an
 * HTTP/1.1 request is; this class is its {@link Downstream}, and frames what the exchange hands
 * it as HEADERS and DATA frames. Its head is made an HTTP/1.1 request by {@link Http2Requests},
 * which refuses what HTTP/1.1 would read differently; a refused head gets {@code RST_STREAM
 * PROTOCOL_ERROR} (RFC 9113 §8.1.1) and never reaches an endpoint.
 *
 * <p>Runs in the stream's child channel ({@code Http2MultiplexHandler}), on the connection's event
 * loop. Flow control is the backpressure: the child channel is read (and its window given back
 * to the client) only while the request body has somewhere to go; the response is read from the
 * endpoint only while the stream's window lets it out ({@link #flush()}, the child channel's
 * writability).
 */
final class ClientStream extends ChannelInboundHandlerAdapter implements Downstream, ConnectionDeadline.Expiry {
    private static final Logger LOG = LoggerFactory.getLogger(ClientStream.class);
    static final String PROTOCOL = "HTTP/2.0";
    private static final AsciiString VIA_VALUE = AsciiString.cached("1.1 sluice");

    private final Gateway gateway;
    private final ListenerRuntime listener;
    private final String peerAddress;
    private final boolean peerTrusted;
    private ChannelHandlerContext ctx;
    private ConnectionDeadline deadline;

    /** The request's timeline from its HEADERS frame to its end; null before and after. */
    private RequestLog log;
    private Exchange exchange;
    /** The client's END_STREAM arrived: the request is all here. */
    private boolean clientEnded;
    /** The body broke the request's framing: the stream ends with PROTOCOL_ERROR, whatever the exchange answered. */
    private boolean malformedBody;
    /** Its declared {@code content-length}, or -1; and the DATA bytes counted so far. */
    private long declaredLength = -1;
    private long bodyBytes;
    /** The body goes upstream chunked, so the client's trailers can go with it. */
    private boolean chunked;
    /** The stream's HEADERS frame was taken: a second one is the trailers. */
    private boolean headersSeen;
    /** The request is a gRPC call, and the response (once begun) a gRPC one: Sluice's failures of it are gRPC statuses. */
    private boolean grpc, grpcResponse;
    /** The response's head, written with its first part; null before and after. */
    private Http2Headers heldHead;
    /**
     * An extended CONNECT (RFC 8441) waiting for the endpoint's answer to its upgrade, else null:
     * the stream is not read meanwhile, and what DATA came with its HEADERS is held for the tunnel.
     */
    private ExtendedConnect tunnelAsked;

    ClientStream(Gateway gateway, ListenerRuntime listener, String peerAddress, boolean peerTrusted) {
        this.gateway = gateway;
        this.listener = listener;
        this.peerAddress = peerAddress;
        this.peerTrusted = peerTrusted;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        Channel ch = ctx.channel();
        this.deadline = new ConnectionDeadline(this, listener.waitingConnections(ch.eventLoop(), gateway.nanoClock()),
                gateway.deadlines(ch.eventLoop()));
    }

    // The request, client → Sluice.

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame headers) {
            if (!headersSeen) {
                headersSeen = true;
                onHead(headers);
            } else {
                onTrailers(headers);
            }
        } else if (msg instanceof Http2DataFrame data) {
            onData(data);
        } else {
            // RST_STREAM (the stream closes next: channelInactive), WINDOW_UPDATE, PRIORITY.
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHead(Http2HeadersFrame frame) {
        long now = gateway.nanoTime();
        gateway.exchangeStarted();
        log = new RequestLog(gateway.clock().millis(), now);
        Http2Headers fields = frame.headers();
        switch (Http2Requests.toHttp1(fields, frame.isEndStream(), listener.config.maxHeaders())) {
            case Http2Requests.Converted.Malformed malformed -> refuse(fields, malformed, frame.isEndStream());
            case Http2Requests.Converted.Request request -> start(request, frame.isEndStream(), now);
        }
    }

    private void start(Http2Requests.Converted.Request converted, boolean endStream, long now) {
        HttpRequest request = converted.request();
        HttpHeaders headers = request.headers();
        if (converted.webSocket()) {
            tunnelAsked = new ExtendedConnect();
            tunnelAsked.ask(headers);
        }
        log.received(null, peerAddress, request.method().name(), request.uri(), PROTOCOL, converted.authority());
        if (gateway.accessLog().enabled()) {
            log.clientSent(headers.get(HttpHeaderNames.USER_AGENT), headers.get(HttpHeaderNames.REFERER));
        }
        log.requestIdIs(HeaderPolicy.ensureRequestId(headers, gateway.requestIds()));
        TraceParent.Kept kept = TraceParent.ensure(headers);
        log.traceparentIs(kept.value(), kept.started());
        grpc = GrpcStatus.requested(headers.get(HttpHeaderNames.CONTENT_TYPE));
        declaredLength = converted.contentLength();
        boolean webSocket = tunnelAsked != null;
        chunked = declaredLength < 0 && !endStream && !webSocket;
        clientEnded = endStream;
        if (!endStream && !webSocket) {
            deadline.at(ConnectionDeadline.Kind.BODY, now + listener.bodyTimeoutNanos);
        }
        Exchange started = new Exchange(gateway.exchanges(ctx.channel().eventLoop()), this, log, request, null,
                peerAddress, peerTrusted, listener, converted.bodyless(), listener.config.maxBody().orElse(-1));
        exchange = started;
        if (webSocket) {
            started.forwardsWebSocketUpgrade();
        }
        started.start(now, listener.redirectHttps);
        if ((endStream || webSocket) && exchange == started) {
            // The HEADERS frame was the whole request (an upgrade's GET has no body either): its
            // end, as the HTTP/1.1 decoder marks one.
            started.requestContent(LastHttpContent.EMPTY_LAST_CONTENT, true);
        }
    }

    /**
     * A head HTTP/1.1 cannot carry as it is: a malformed one is a stream error of type
     * PROTOCOL_ERROR (RFC 9113 §8.1.1), so the stream is reset; too many fields is answered 431,
     * as over HTTP/1.1. Either way it is logged, and nothing is forwarded.
     */
    private void refuse(Http2Headers fields, Http2Requests.Converted.Malformed malformed, boolean endStream) {
        clientEnded = endStream;
        CharSequence method = fields.method();
        CharSequence path = fields.path();
        CharSequence authority = fields.authority();
        log.received(gateway.newRequestId(), peerAddress, method == null ? null : method.toString(),
                path == null ? null : path.toString(), PROTOCOL, authority == null ? null : authority.toString());
        log.traceparentIs(TraceParent.start(), true);
        LOG.debug("refused HTTP/2 request from {}: {}", peerAddress, malformed.why());
        if (malformed.kind() == FailureKind.BAD_REQUEST) {
            log.failed(malformed.kind());
            finish(gateway.nanoTime());
            reset(Http2Error.PROTOCOL_ERROR);
            return;
        }
        reply(malformed.kind(), ReplyFields.NONE, false);
    }

    private void onData(Http2DataFrame frame) {
        if (tunnelAsked != null) {
            // The WebSocket's first bytes, sent before the 200 (RFC 9113 §8.5 lets a client): held
            // for the tunnel. At most one read's worth: the stream is not read again until then.
            if (frame.content().isReadable()) {
                tunnelAsked.hold(frame.content());
            } else {
                frame.release();
            }
            clientEnded |= frame.isEndStream();
            return;
        }
        if (exchange == null || clientEnded) {
            // The rest of a request already answered: nothing wants it.
            frame.release();
            return;
        }
        ByteBuf content = frame.content();
        boolean last = frame.isEndStream();
        bodyBytes += content.readableBytes();
        // RFC 9113 §8.1.1: DATA that disagrees with content-length makes the request malformed. Checked
        // before a byte of it goes on, so an HTTP/1.1 endpoint never reads past the declared end.
        if (declaredLength >= 0 && (bodyBytes > declaredLength || last && bodyBytes != declaredLength)) {
            frame.release();
            bodyMalformed();
            return;
        }
        if (last) {
            clientEnded = true;
            deadline.disarm(ConnectionDeadline.Kind.BODY);
            exchange.requestContent(new DefaultLastHttpContent(content), true);
            return;
        }
        deadline.extendBody(gateway.nanoTime() + listener.bodyTimeoutNanos);
        if (!content.isReadable()) {
            // An empty chunk would end a chunked body early: an empty DATA frame carries nothing to send.
            frame.release();
            return;
        }
        exchange.requestContent(new DefaultHttpContent(content), false);
    }

    /** The trailers: the request's end. They go on with a chunked body; a body of declared length has no room for them. */
    private void onTrailers(Http2HeadersFrame frame) {
        if (exchange == null || clientEnded) {
            return;
        }
        if (!frame.isEndStream() || declaredLength >= 0 && bodyBytes != declaredLength) {
            bodyMalformed();
            return;
        }
        clientEnded = true;
        deadline.disarm(ConnectionDeadline.Kind.BODY);
        DefaultLastHttpContent end = new DefaultLastHttpContent();
        if (chunked) {
            for (Map.Entry<CharSequence, CharSequence> field : frame.headers()) {
                CharSequence name = field.getKey();
                if (name.length() > 0 && name.charAt(0) == ':' || Http2Requests.connectionSpecific(name)
                        || !Http2Requests.validField(name, field.getValue())) {
                    end.release();
                    bodyMalformed();
                    return;
                }
                if (Http2Requests.framingTrailer(name)) {
                    // RFC 9110 §6.5.1: framing belongs to the head. Dropped, as Netty's HTTP/1.1
                    // decoder drops it from a chunked body's trailers (so both protocols forward the same).
                    continue;
                }
                end.trailingHeaders().add(name, field.getValue());
            }
        }
        exchange.requestContent(end, true);
    }

    /**
     * The body broke the request's own framing: the exchange fails as for a bad chunk over
     * HTTP/1.1 (the endpoint's connection, holding half a request, is closed), and the stream is
     * reset with PROTOCOL_ERROR.
     */
    private void bodyMalformed() {
        LOG.debug("refused HTTP/2 request body from {}: DATA disagree with content-length", peerAddress);
        malformedBody = true;
        exchange.requestFailed(FailureKind.BAD_REQUEST);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.flushUpstream();
        }
        readIfReady();
    }

    /** Reads the stream (and gives its window back) only while its body has somewhere to go. */
    private void readIfReady() {
        boolean want = tunnelAsked == null && (clientEnded || exchange == null || exchange.acceptsBody());
        if (ctx.channel().config().isAutoRead() != want) {
            ctx.channel().config().setAutoRead(want);
        }
    }

    @Override
    public void bodyWanted() {
        readIfReady();
    }

    // The response, Sluice → client.

    @Override
    public void interim(HttpResponse interim) {
        Http2Headers fields = HttpConversionUtil.toHttp2Headers(interim, false);
        fields.status(interim.status().codeAsText());
        ctx.write(new DefaultHttp2HeadersFrame(fields, false), ctx.voidPromise());
    }

    @Override
    public void respond(HttpResponse head) {
        // A head forwarded from its bytes has not had its hop-by-hop fields taken out or Via added:
        // the HTTP/1.1 encoder does that as it writes the lines; here the conversion does.
        boolean fromBytes = head instanceof ReceivedResponse raw && raw.verbatim();
        Http2Headers fields = HttpConversionUtil.toHttp2Headers(head, false);
        fields.status(head.status().codeAsText());
        if (fromBytes) {
            fields.add(HttpHeaderNames.VIA, VIA_VALUE);
        }
        log.responded(head.status().code());
        grpcResponse = GrpcStatus.requested(head.headers().get(HttpHeaderNames.CONTENT_TYPE));
        // Held until the first part, which the exchange hands over right after: a response that is
        // its head alone goes out as one HEADERS frame with END_STREAM (gRPC's Trailers-Only,
        // whose grpc-status a client reads only there).
        heldHead = fields;
    }

    @Override
    public void respond(HttpContent part) {
        ByteBuf content = part.content();
        if (heldHead != null) {
            Http2Headers fields = heldHead;
            heldHead = null;
            boolean headAlone = part instanceof LastHttpContent last && !content.isReadable()
                    && last.trailingHeaders().isEmpty();
            ctx.write(new DefaultHttp2HeadersFrame(fields, headAlone), ctx.voidPromise());
            if (headAlone) {
                part.release();
                return;
            }
        }
        if (!(part instanceof LastHttpContent last)) {
            if (content.isReadable()) {
                ctx.write(new DefaultHttp2DataFrame(content, false), ctx.voidPromise());
            } else {
                part.release();
            }
            return;
        }
        if (last.trailingHeaders().isEmpty()) {
            ctx.write(new DefaultHttp2DataFrame(content, true), ctx.voidPromise());
            return;
        }
        if (content.isReadable()) {
            ctx.write(new DefaultHttp2DataFrame(content, false), ctx.voidPromise());
        } else {
            part.release();
        }
        Http2Headers trailers = new DefaultHttp2Headers(false);
        HttpConversionUtil.toHttp2Headers(last.trailingHeaders(), trailers);
        ctx.write(new DefaultHttp2HeadersFrame(trailers, true), ctx.voidPromise());
    }

    @Override
    public void responseComplete() {
        long now = gateway.nanoTime();
        log.completed(now);
        finish(now);
        ctx.flush();
        endStream();
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

    /** Sluice's own answer for {@code kind}; {@code close} means nothing for one stream: the connection stays. */
    @Override
    public void reply(FailureKind kind, ReplyFields fields, boolean close) {
        log.failed(kind);
        heldHead = null;
        if (grpc) {
            // A gRPC client reads grpc-status, not a status line: Trailers-Only, one HEADERS frame.
            Http2HeadersFrame status = GrpcStatusFrames.trailersOnly(ctx.alloc(), kind, fields);
            log.responded(Integer.parseInt(status.headers().status().toString()));
            ctx.write(status, ctx.voidPromise());
        } else {
            log.responded(kind.status().code());
            FullHttpResponse response = LocalReply.build(ctx.alloc(), kind, fields, log.route(), log.requestId(), true);
            log.bodyOut(response.content().readableBytes());
            Http2Headers h2 = HttpConversionUtil.toHttp2Headers(response, false);
            h2.status(response.status().codeAsText());
            ctx.write(new DefaultHttp2HeadersFrame(h2, false), ctx.voidPromise());
            ctx.write(new DefaultHttp2DataFrame(response.content(), true), ctx.voidPromise());
        }
        long now = gateway.nanoTime();
        log.completed(now);
        finish(now);
        ctx.flush();
        endStream();
    }

    @Override
    public void abort(FailureKind kind) {
        log.failed(kind);
        long now = gateway.nanoTime();
        log.completed(now);
        finish(now);
        if (grpcResponse && ctx.channel().isActive()) {
            // A gRPC call ends with its status instead of being cut (GrpcStatusFrames says why).
            ctx.writeAndFlush(GrpcStatusFrames.cut(heldHead, kind), ctx.voidPromise());
            endStream();
        } else {
            // A response already begun cannot be answered any more: the stream is cut, the connection stays.
            reset(Http2Error.INTERNAL_ERROR);
        }
    }

    /**
     * The response went out whole: a client still sending its body is told to stop without error
     * (RFC 9113 §8.1), one whose body broke its framing with PROTOCOL_ERROR.
     */
    private void endStream() {
        if (malformedBody) {
            reset(Http2Error.PROTOCOL_ERROR);
        } else if (!clientEnded) {
            reset(Http2Error.NO_ERROR);
        }
    }

    private void reset(Http2Error code) {
        clientEnded = true;
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(code), ctx.voidPromise());
        }
    }

    /** The exchange ended: its log line and counters, and the stream's deadline off. */
    private void finish(long now) {
        deadline.disarm();
        dropEarly();
        gateway.exchangeFinished(log);
        log = null;
        exchange = null;
        // The stream may have stopped reading while the exchange could take no body: read on, so
        // DATA still queued in the stream channel is dropped. Netty closes a stream channel whose
        // stream has ended only once its queue is empty; one left not reading would hold its
        // frames (and the connection's read buffers they are slices of) for ever.
        readIfReady();
    }

    /** The upgrade was answered otherwise than by a tunnel: what the client sent for it is dropped. */
    private void dropEarly() {
        if (tunnelAsked != null) {
            tunnelAsked.drop();
            tunnelAsked = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadline.disarm();
        dropEarly();
        if (log != null) {
            // The client reset the stream, or the connection went.
            log.clientWentAway();
            log.completed(gateway.nanoTime());
            if (exchange != null) {
                exchange.cancel();
            }
            gateway.exchangeFinished(log);
            log = null;
            exchange = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception.HeaderListSizeException tooLarge && tooLarge.duringDecode() && log == null) {
            // A head past max_header_list_size (RFC 9113 §10.5.1): 431, as an HTTP/1.1 head past
            // max_header_size gets; it was never decoded whole, so it is logged without its fields.
            gateway.exchangeStarted();
            log = new RequestLog(gateway.clock().millis(), gateway.nanoTime());
            log.received(gateway.newRequestId(), peerAddress, null, null, PROTOCOL, null);
            log.traceparentIs(TraceParent.start(), true);
            clientEnded = true;
            reply(FailureKind.HEADERS_TOO_LARGE, ReplyFields.NONE, false);
            return;
        }
        // Netty's decoder found the stream in error (RFC 9113 §5.4.2: DATA that disagree with
        // content-length, a frame on a half-closed stream, ...): the multiplexer hands it to the
        // stream, which resets with its error code.
        Http2Error streamError = cause instanceof Http2FrameStreamException e ? e.error()
                : cause instanceof Http2Exception.StreamException e ? e.error() : null;
        if (streamError != null) {
            LOG.debug("HTTP/2 stream error from {}: {}", peerAddress, cause.getMessage());
            if (log != null) {
                log.failed(FailureKind.BAD_REQUEST);
                log.completed(gateway.nanoTime());
                if (exchange != null) {
                    exchange.cancel();
                }
                finish(gateway.nanoTime());
            }
            // RFC 9113 §5.1: HEADERS or DATA after the client's END_STREAM (half-closed remote) is
            // STREAM_CLOSED; Netty calls a second HEADERS "too many headers", a PROTOCOL_ERROR.
            reset(clientEnded && streamError == Http2Error.PROTOCOL_ERROR ? Http2Error.STREAM_CLOSED : streamError);
            return;
        }
        if (!(cause instanceof IOException)) {
            LOG.warn("resetting an HTTP/2 stream from {} after an unexpected error", peerAddress, cause);
        }
        reset(Http2Error.INTERNAL_ERROR);
        ctx.close();
    }

    /**
     * The endpoint accepted the WebSocket upgrade of an extended CONNECT (RFC 8441 §5): the client
     * gets {@code 200} with the endpoint's {@code Sec-WebSocket-Protocol} and {@code -Extensions},
     * the request's log line is written (status 200), and the stream becomes an {@link Http2Tunnel}
     * with {@code upstream}. A 101 whose {@code Sec-WebSocket-Accept} does not answer the key Sluice
     * sent (RFC 6455 §4.2.2; over HTTP/1.1 the client checks it, here nobody else can) is a bad response.
     */
    @Override
    public void tunnel(HttpResponse switching, Channel upstream) {
        if (tunnelAsked == null || !tunnelAsked.accepted(switching)) {
            ReferenceCountUtil.release(switching);
            upstream.close();
            reply(FailureKind.BAD_RESPONSE, ReplyFields.NONE, false);
            return;
        }
        deadline.disarm();
        log.responded(200);
        long now = gateway.nanoTime();
        log.completed(now);
        gateway.exchangeFinished(log);
        log = null;
        exchange = null;
        Http2Headers fields = ExtendedConnect.answer(switching);
        ReferenceCountUtil.release(switching);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(fields, false), ctx.voidPromise());
        java.util.List<ByteBuf> held = tunnelAsked.takeHeld();
        tunnelAsked = null;
        Http2Tunnel.join(ctx.channel(), upstream, held, clientEnded, listener.config.webSocketIdleTimeout(),
                gateway.tunnels());
    }

    @Override
    public boolean secure() {
        return listener.tls.isPresent();
    }

    // The stream's one deadline: its body's, then its response's.

    @Override
    public void responseDeadline(long atNanos) {
        deadline.at(ConnectionDeadline.Kind.RESPONSE, atNanos);
    }

    @Override
    public void responseDeadlineMet() {
        deadline.disarm(ConnectionDeadline.Kind.RESPONSE);
    }

    @Override
    public void idleExpired() {
        // A stream is never idle: its connection is (Http2ClientConnection).
    }

    @Override
    public void deadlinePassed(ConnectionDeadline.Kind fired) {
        switch (fired) {
            case BODY -> {
                if (exchange != null && !clientEnded) {
                    exchange.requestFailed(FailureKind.REQUEST_BODY_TIMEOUT);
                }
            }
            case RESPONSE -> {
                if (exchange != null) {
                    exchange.responseTimedOut();
                }
            }
            case NONE, IDLE, HEAD -> { }
        }
    }
}
