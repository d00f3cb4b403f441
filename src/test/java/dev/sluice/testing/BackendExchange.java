package dev.sluice.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One request at a {@link TestBackend} and the means to answer it. Handed to a {@link BackendHandler}.
 *
 * <pre>{@code
 * ex -> ex.schedule(Duration.ofMillis(200), () -> ex.respond(200, "late"))
 * ex -> { ex.startResponse(200, new DefaultHttpHeaders()); ex.writeContent(part); ex.closeConnection(); }
 * }</pre>
 *
 * <p>Response methods may be called from any thread; they run on the connection's event loop. Exactly one
 * final (non-1xx) response per exchange; interim responses go before it. Unless told otherwise the
 * response gets the connection headers a well-behaved server sends: {@code Connection: close} when the
 * request asked for it (and the connection then closes), {@code Keep-Alive: timeout=N} when the backend
 * was built with {@link TestBackend.Builder#keepAliveTimeout(int)}.
 */
public final class BackendExchange {
    // Deprecated as a name in Netty (HTTP/2 forbids it), but HTTP/1.1 servers still send it.
    private static final String KEEP_ALIVE_HEADER = "keep-alive";

    private final TestBackend backend;
    private final BackendConnection connection;
    private final ChannelHandlerContext ctx;
    private final HttpRequest head;
    private final long connectionId;
    private final int index;
    private final Sha256 bodyHash = Sha256.start();
    private ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final List<Map.Entry<String, String>> trailers = new ArrayList<>();

    private volatile RecordedRequest recorded;
    private boolean requestDone;
    private boolean finalStarted;
    private boolean finalEnded;
    private boolean bodyless;
    private boolean chunked;
    private boolean responseDone;
    private boolean closeRequested;
    private boolean closeAfterResponse;

    BackendExchange(TestBackend backend, BackendConnection connection, ChannelHandlerContext ctx, HttpRequest head,
                    long connectionId, int index) {
        this.backend = backend;
        this.connection = connection;
        this.ctx = ctx;
        this.head = head;
        this.connectionId = connectionId;
        this.index = index;
    }

    public String method() {
        return head.method().name();
    }

    /** The request target as received, query included. */
    public String uri() {
        return head.uri();
    }

    /** The request target without its query. */
    public String path() {
        int q = head.uri().indexOf('?');
        return q < 0 ? head.uri() : head.uri().substring(0, q);
    }

    public String version() {
        return head.protocolVersion().text();
    }

    /** The request's headers; read them, do not change them. */
    public HttpHeaders headers() {
        return head.headers();
    }

    /** First value of the named request header, or null. */
    public String header(String name) {
        return head.headers().get(name);
    }

    /** True if the request carries {@code Expect: 100-continue}. */
    public boolean expectsContinue() {
        return HttpUtil.is100ContinueExpected(head);
    }

    public long connectionId() {
        return connectionId;
    }

    /** 0 for the first request on its connection. */
    public int indexOnConnection() {
        return index;
    }

    /** The whole request as recorded; available from {@link BackendHandler#onRequest} on. */
    public RecordedRequest request() {
        RecordedRequest r = recorded;
        if (r == null) {
            throw new IllegalStateException("the request body has not fully arrived yet");
        }
        return r;
    }

    /** Answers with {@code body} as UTF-8 text and a Content-Length. */
    public void respond(int status, String body) {
        HttpHeaders headers = new DefaultHttpHeaders();
        headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        respond(status, headers, body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Answers with {@code body}. A Content-Length is added unless {@code headers} carry a Content-Length
     * or Transfer-Encoding (then the body is chunked) or the status has no body (204, 304).
     */
    public void respond(int status, HttpHeaders headers, byte[] body) {
        onLoop(() -> {
            HttpHeaders h = copy(headers);
            if (!h.contains(HttpHeaderNames.CONTENT_LENGTH) && !h.contains(HttpHeaderNames.TRANSFER_ENCODING)
                    && status != 204 && status != 304) {
                h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            }
            begin(HttpVersion.HTTP_1_1, status, h, false);
            finish(bodyless ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(Unpooled.wrappedBuffer(body)));
        });
    }

    /** Sends an interim response ({@code 100 Continue}, {@code 103 Early Hints}, ...) before the final one. */
    public void sendInterim(int status, HttpHeaders headers) {
        if (status < 100 || status > 199) {
            throw new IllegalArgumentException("not an interim status: " + status);
        }
        onLoop(() -> {
            if (finalStarted) {
                throw new IllegalStateException("interim response after the final response started");
            }
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    Unpooled.EMPTY_BUFFER, copy(headers), EmptyHttpHeaders.INSTANCE)).addListener(closeOnFailure());
        });
    }

    /**
     * Starts a response whose body follows through {@link #writeContent} and {@link #endResponse}. The body
     * is chunked unless {@code headers} carry a Content-Length (then the caller must send exactly that many).
     */
    public void startResponse(int status, HttpHeaders headers) {
        onLoop(() -> begin(HttpVersion.HTTP_1_1, status, copy(headers), false));
    }

    /**
     * Starts a response with neither Content-Length nor chunking: the body ends when the connection closes,
     * as HTTP/1.0 servers do. End it with {@link #endResponse()}, which closes the connection.
     */
    public void startCloseDelimitedResponse(HttpVersion version, int status, HttpHeaders headers) {
        onLoop(() -> begin(version, status, copy(headers), true));
    }

    /** Sends body bytes of a started response, flushed at once. Ignored for bodyless responses (HEAD, 204, 304). */
    public void writeContent(byte[] bytes) {
        onLoop(() -> {
            requireOpenBody();
            if (!bodyless) {
                ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes))).addListener(closeOnFailure());
            }
        });
    }

    /** Ends a started response. */
    public void endResponse() {
        endResponse(EmptyHttpHeaders.INSTANCE);
    }

    /** Ends a started chunked response with trailer fields. */
    public void endResponse(HttpHeaders trailers) {
        onLoop(() -> {
            requireOpenBody();
            if (!trailers.isEmpty() && !chunked) {
                throw new IllegalStateException("trailers need a chunked response");
            }
            finish(trailers.isEmpty() ? LastHttpContent.EMPTY_LAST_CONTENT
                    : new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, copy(trailers)));
        });
    }

    /**
     * Answers with a body pulled from {@code body} as the client can take it (backpressure), never held whole.
     * Chunked unless {@code headers} carry a Content-Length; {@code trailers} (may be empty) need chunked.
     */
    public void stream(int status, HttpHeaders headers, ChunkedInput<ByteBuf> body, HttpHeaders trailers) {
        onLoop(() -> {
            begin(HttpVersion.HTTP_1_1, status, copy(headers), false);
            if (bodyless) {
                closeQuietly(body);
                finish(LastHttpContent.EMPTY_LAST_CONTENT);
                return;
            }
            LastHttpContent last = trailers.isEmpty() ? LastHttpContent.EMPTY_LAST_CONTENT
                    : new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, copy(trailers));
            finalEnded = true;
            ctx.writeAndFlush(new HttpChunkedInput(body, last)).addListener(this::responseWritten);
        });
    }

    /**
     * Sends {@code bytes} as the whole response, byte for byte, bypassing the HTTP encoder: for malformed or
     * unusual responses. Prefer {@code closeAfter = true}: the encoder does not see this response, so a
     * later HEAD request on the same connection would be framed wrongly.
     */
    public void respondRaw(byte[] bytes, boolean closeAfter) {
        onLoop(() -> {
            requireNotStarted();
            finalStarted = true;
            finalEnded = true;
            closeAfterResponse = closeAfter;
            ctx.pipeline().context(HttpServerCodec.class).writeAndFlush(Unpooled.wrappedBuffer(bytes))
                    .addListener(this::responseWritten);
        });
    }

    /** Makes the coming response carry {@code Connection: close} and the connection close after it. */
    public void closeAfterResponse() {
        onLoop(() -> closeRequested = true);
    }

    /** Closes the connection now (FIN), after what was already written; no (further) response. */
    public void closeConnection() {
        onLoop(() -> ctx.pipeline().context(HttpServerCodec.class).writeAndFlush(Unpooled.EMPTY_BUFFER)
                .addListener(ChannelFutureListener.CLOSE));
    }

    /** Resets the connection now (RST: SO_LINGER 0, then close); unsent bytes are dropped. */
    public void resetConnection() {
        onLoop(() -> {
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            ctx.channel().close();
        });
    }

    /** Runs {@code task} on this connection's event loop after {@code delay}; a task that throws is a handler error. */
    public ScheduledFuture<?> schedule(Duration delay, Runnable task) {
        return ctx.executor().schedule(() -> backend.guard(this, task), delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    // ---- called by BackendConnection, on the event loop ----

    void appendBody(ByteBuf content) {
        int n = content.readableBytes();
        if (n == 0) {
            return;
        }
        bodyHash.update(content);
        if (body != null) {
            if (body.size() + (long) n > backend.recordBodyLimit()) {
                body = null; // past the record limit only the hash and length are kept
            } else {
                byte[] bytes = new byte[n];
                content.getBytes(content.readerIndex(), bytes);
                body.writeBytes(bytes);
            }
        }
    }

    void addTrailers(HttpHeaders trailing) {
        trailing.forEach(e -> trailers.add(Map.entry(e.getKey(), e.getValue())));
    }

    /** Records the request (complete when {@code failure} is null) and marks the request side done. */
    RecordedRequest finishRequest(String failure) {
        requestDone = true;
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        head.headers().forEach(e -> headers.add(Map.entry(e.getKey(), e.getValue())));
        Sha256.Digest digest = bodyHash.digest();
        RecordedRequest r = new RecordedRequest(connectionId, index, head.method().name(), head.uri(),
                head.protocolVersion().text(), headers, body == null ? null : body.toByteArray(), digest.length(),
                digest.hex(), trailers, failure);
        body = null;
        recorded = r;
        return r;
    }

    boolean requestDone() {
        return requestDone;
    }

    boolean responseDone() {
        return responseDone;
    }

    boolean finalStarted() {
        return finalStarted;
    }

    /** Answers a request the decoder rejected, then closes: after bad framing the byte stream cannot be trusted. */
    void rejectMalformed() {
        if (!finalStarted) {
            closeRequested = true;
            respond(400, "malformed request\n");
        } else {
            ctx.close();
        }
    }

    // ---- internals ----

    private void begin(HttpVersion version, int status, HttpHeaders headers, boolean closeDelimited) {
        if (status < 200 || status > 999) {
            throw new IllegalArgumentException("final status expected, got " + status + " (use sendInterim for 1xx)");
        }
        requireNotStarted();
        finalStarted = true;
        bodyless = head.method().equals(HttpMethod.HEAD) || status == 204 || status == 304;
        HttpResponse response = new DefaultHttpResponse(version, HttpResponseStatus.valueOf(status), headers);
        if (!closeDelimited && !bodyless && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)
                && !headers.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            HttpUtil.setTransferEncodingChunked(response, true);
        }
        chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean selfDelimited = bodyless || chunked || HttpUtil.isContentLengthSet(response);
        applyConnectionHeaders(response, selfDelimited);
        ctx.writeAndFlush(response).addListener(closeOnFailure());
    }

    private void applyConnectionHeaders(HttpResponse response, boolean selfDelimited) {
        HttpHeaders h = response.headers();
        boolean responseSaysClose = h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true);
        // RFC 9112 §9.3: no keep-alive when the request asked to close, or the body is delimited by the close.
        boolean close = closeRequested || responseSaysClose || !HttpUtil.isKeepAlive(head) || !selfDelimited;
        if (close) {
            if (selfDelimited && !responseSaysClose && response.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        } else {
            if (head.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            int keepAlive = backend.keepAliveTimeoutSeconds();
            if (keepAlive > 0 && !h.contains(KEEP_ALIVE_HEADER)) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                h.set(KEEP_ALIVE_HEADER, "timeout=" + keepAlive);
            }
        }
        closeAfterResponse = close;
    }

    private void finish(LastHttpContent last) {
        finalEnded = true;
        ctx.writeAndFlush(last).addListener(this::responseWritten);
    }

    private void responseWritten(io.netty.util.concurrent.Future<? super Void> future) {
        responseDone = true;
        if (!future.isSuccess() || closeAfterResponse) {
            ctx.close();
        } else {
            connection.responseDone(this);
        }
    }

    private void requireNotStarted() {
        if (finalStarted) {
            throw new IllegalStateException("a final response was already sent for " + method() + " " + uri());
        }
    }

    private void requireOpenBody() {
        if (!finalStarted || finalEnded) {
            throw new IllegalStateException("no response body in progress");
        }
    }

    private ChannelFutureListener closeOnFailure() {
        return (ChannelFuture f) -> {
            if (!f.isSuccess()) {
                f.channel().close();
            }
        };
    }

    private void onLoop(Runnable action) {
        if (ctx.executor().inEventLoop()) {
            action.run();
        } else {
            ctx.executor().execute(() -> backend.guard(this, action));
        }
    }

    private static HttpHeaders copy(HttpHeaders headers) {
        return new DefaultHttpHeaders().add(headers);
    }

    private static void closeQuietly(ChunkedInput<?> input) {
        try {
            input.close();
        } catch (Exception ignored) {
            // a test body source; nothing to recover
        }
    }
}
