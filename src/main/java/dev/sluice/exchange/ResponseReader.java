package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.http.BodyFraming;
import dev.sluice.http.KeepAlive;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.observe.RequestLog;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.route.Compression;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The respond step: reads what the current attempt's endpoint answers and passes it on to the
 * {@link Downstream}. The final head is held until its first body part arrives: if the endpoint
 * dies in between, nothing has reached the client and an idempotent request can still be
 * retried. Failures and a status the route retries go back to the {@link Exchange}.
 *
 * <p>A route that compresses has its compression decided on the final head ({@link
 * ResponseCompression}); a compressed body goes through a {@link BodyCompressor} part by part,
 * and what it gathered goes to the downstream at the end of each burst of reads ({@link
 * #endOfBurst}), so the body streams as it would uncompressed. The request log counts the bytes
 * as sent, compressed or not.
 */
final class ResponseReader {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseReader.class);

    private final Exchange exchange;
    private final Downstream downstream;
    private final RequestLog log;
    private final HttpRequest request;
    private final boolean answersHead;
    /** Read before the request is forwarded, which sets HTTP/1.1 on it. */
    private final boolean clientHttp11;
    private HttpResponse heldHead;
    private boolean awaitingFinalAfterInterim;
    private boolean reusable;
    /** Response bytes went to the client: from now on nothing can be retried, only cut short. */
    private boolean started;
    /** The body being compressed, from the head to its last part; null when it goes out as it comes. */
    private BodyCompressor compressor;

    ResponseReader(Exchange exchange, Downstream downstream, RequestLog log, HttpRequest request) {
        this.exchange = exchange;
        this.downstream = downstream;
        this.log = log;
        this.request = request;
        this.answersHead = HttpMethod.HEAD.equals(request.method());
        this.clientHttp11 = HttpVersion.HTTP_1_1.equals(request.protocolVersion());
    }

    /** A message from the current attempt's connection; ownership passes here. */
    void read(UpstreamConnection connection, Object msg, boolean requestFullyWritten, ExchangeContext context) {
        if (msg instanceof HttpResponse response) {
            // The clock is read for heads only: a body part needs no time.
            head(connection, response, requestFullyWritten, context.nanoTime());
        } else if (msg instanceof HttpContent content) {
            content(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void head(UpstreamConnection connection, HttpResponse response, boolean requestFullyWritten, long now) {
        if (response.decoderResult().isFailure()) {
            ReferenceCountUtil.release(response);
            LOG.debug("bad response from {}: {}", log.endpoint(), response.decoderResult().cause().toString());
            exchange.upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        int status = response.status().code();
        if (status < 200) {
            interim(response, status);
            return;
        }
        downstream.responseDeadlineMet();
        connection.endpoint().recordSuccess();
        log.firstByte(now, status);
        if (exchange.retriedOnStatus(connection, response, now)) {
            return;
        }
        var rules = exchange.route().responseHeaders();
        var added = exchange.responseFields();
        Compression compression = exchange.route().compression();
        ResponseCompression.Decision compress = compression.on()
                ? ResponseCompression.decide(compression, request, response, answersHead, clientHttp11)
                : ResponseCompression.NOT_CONFIGURED;
        String stickyCookie = exchange.stickyCookie(connection.endpoint());
        if (!rules.isEmpty() || added.size() > 0 || compress.editsHead() || stickyCookie != null) {
            // The route edits the head: its map is made, so it goes out from the map, not its bytes.
            response.headers();
        }
        if (response instanceof ReceivedResponse raw && raw.verbatim()) {
            // The common case: framed by its length (or bodyless), Connection naming nothing but
            // close or keep-alive. Its lines go out as they came; the downstream adds its own.
            connection.learn(KeepAlive.parse(raw.keepAliveField()));
            reusable = raw.keepAlive() && requestFullyWritten;
        } else {
            HttpHeaders headers = response.headers();
            connection.learn(KeepAlive.parse(headers.get(HttpHeaderNames.KEEP_ALIVE)));
            // A body the backend ends by closing, or a response before the whole request was read,
            // leaves the connection unusable.
            // An HTTP/2 stream is never reused: it closes with the exchange (its connection stays).
            reusable = !connection.multiplexed() && HttpUtil.isKeepAlive(response)
                    && !BodyFraming.closeDelimited(response, answersHead) && requestFullyWritten;
            HeaderPolicy.removeHopByHop(headers);
            HeaderPolicy.appendVia(headers);
            rules.apply(headers, exchange.variables());
            AccessCheck.addTo(headers, added);
            switch (compress) {
                case ResponseCompression.Compress c -> {
                    ResponseCompression.compressedHead(headers, c.encoding());
                    compressor = BodyCompressor.of(c.encoding(), compression, connection.channel().alloc());
                }
                case ResponseCompression.Identity identity -> ResponseCompression.varyOnAcceptEncoding(headers);
                case ResponseCompression.AsItIs asItIs -> { }
            }
            if (stickyCookie != null) {
                // After the route's rules: a rule removing the backend's Set-Cookie leaves Sluice's own.
                headers.add(HttpHeaderNames.SET_COOKIE, stickyCookie);
            }
        }
        awaitingFinalAfterInterim = false;
        heldHead = response;
    }

    private void interim(HttpResponse response, int status) {
        // Sluice asks for no upgrade but a client's WebSocket one, so any other 101 is a protocol error.
        if (status == 101) {
            if (exchange.webSocketUpgrade()) {
                exchange.switchedProtocols(response);
            } else {
                exchange.upstreamFailed(FailureKind.BAD_RESPONSE);
            }
            return;
        }
        awaitingFinalAfterInterim = true;
        // 100 Continue was Sluice's to send; other interim responses (103 Early Hints) go on.
        if (status != 100) {
            HeaderPolicy.removeHopByHop(response.headers());
            downstream.interim(response);
        }
    }

    private void content(HttpContent content) {
        if (awaitingFinalAfterInterim) {
            // The empty "last content" the decoder emits after each 1xx: not the real body.
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            exchange.upstreamFailed(FailureKind.BAD_RESPONSE);
            return;
        }
        if (heldHead != null) {
            HttpResponse head = heldHead;
            heldHead = null;
            started = true;
            exchange.tap().responseHead(head);
            downstream.respond(head);
        }
        if (compressor != null) {
            compress(content);
            return;
        }
        log.bodyOut(content.content().readableBytes());
        exchange.tap().responseBody(content.content());
        downstream.respond(content);
        if (content instanceof LastHttpContent) {
            exchange.responseComplete(reusable);
        }
    }

    private void compress(HttpContent content) {
        BodyCompressor body = compressor;
        body.write(content.content());
        if (content instanceof LastHttpContent last) {
            compressor = null;
            DefaultLastHttpContent end = new DefaultLastHttpContent(body.finish());
            end.trailingHeaders().set(last.trailingHeaders());
            content.release();
            log.bodyOut(end.content().readableBytes());
            exchange.tap().responseBody(end.content());
            downstream.respond(end);
            exchange.responseComplete(reusable);
            return;
        }
        content.release();
        if (body.full()) {
            send(body.take());
        }
    }

    private void send(ByteBuf compressed) {
        if (compressed.isReadable()) {
            log.bodyOut(compressed.readableBytes());
            exchange.tap().responseBody(compressed);
            downstream.respond(new DefaultHttpContent(compressed));
        } else {
            compressed.release();
        }
    }

    /** The end of a burst of reads from the endpoint, before the downstream flushes: a compressed body's bytes so far go out. */
    void endOfBurst() {
        if (compressor != null && started) {
            send(compressor.flush());
        }
    }

    /** Whether response bytes went to the client. */
    boolean started() {
        return started;
    }

    /** The attempt failed or is retried: a head it held is dropped (nothing of it reached the client). */
    void dropHeld() {
        heldHead = null;
        discardCompressor();
    }

    /** The exchange ended: a body still being compressed was cut, and its encoder is freed. */
    void discardCompressor() {
        if (compressor != null) {
            compressor.discard();
            compressor = null;
        }
    }
}
