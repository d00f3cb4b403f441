package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The client side of one {@link Exchange}, as the exchange sees it: where the response goes and
 * who frames it. An HTTP/1.1 connection implements it today ({@code server.ClientConnection});
 * an HTTP/2 stream will implement it the same way. Whatever belongs to the client's protocol
 * stays behind this interface: framing (Content-Length, chunked, close-delimited), keep-alive
 * and {@code Connection}, {@code 100 Continue}, read interest, and the client's deadlines.
 *
 * <p>Called on the event loop that serves the request. The calls that end the exchange
 * ({@link #respond(HttpResponse)}'s last part through {@link #responseComplete()},
 * {@link #reply}, {@link #abort}) are the exchange's last act: the downstream may start the next
 * request before they return.
 */
public interface Downstream {
    /**
     * The final response's head, its hop-by-hop fields removed and {@code Via} added; the
     * downstream frames it for its client (keep-alive, transfer coding) and sends it.
     */
    void respond(HttpResponse head);

    /** An interim response other than {@code 100 Continue} (103 Early Hints), for clients that take one. */
    void interim(HttpResponse interim);

    /** A part of the response body; ownership passes to the downstream. */
    void respond(HttpContent part);

    /** The response's last part went out with {@link #respond(HttpContent)}. */
    void responseComplete();

    /**
     * Answers the request with Sluice's own reply for {@code kind}, carrying {@code fields} (the
     * refusing policy's {@code Retry-After}, {@code RateLimit}, …): nothing of a response has been
     * sent. {@code close} asks for the client connection to be closed after it.
     */
    void reply(FailureKind kind, ReplyFields fields, boolean close);

    /** {@link #reply(FailureKind, ReplyFields, boolean)} with nothing beyond the kind's own fields. */
    default void reply(FailureKind kind, boolean close) {
        reply(kind, ReplyFields.NONE, close);
    }

    /** A response already started cannot be answered any more: cut it short. */
    void abort(FailureKind kind);

    /**
     * An upstream connection is ready for the request body (or became writable again): the
     * downstream may read more of it, and send {@code 100 Continue} if the client waits for one.
     */
    void bodyWanted();

    /**
     * The end of a burst of response parts: flushes them to the client. Returns whether the
     * client can take more now; when it cannot, the exchange stops reading the endpoint until
     * {@link Exchange#clientWritable()}.
     */
    boolean flush();

    /** Arms the response deadline at {@code atNanos}; when it passes, the downstream calls {@link Exchange#responseTimedOut()}. */
    void responseDeadline(long atNanos);

    /** Disarms the response deadline, if armed (a response began, or the attempt ended). */
    void responseDeadlineMet();

    /** The client came over TLS (an HTTPS listener): the request's scheme is {@code https}. */
    default boolean secure() {
        return false;
    }

    /**
     * The endpoint switched protocols ({@code 101}, a WebSocket): {@code switching} goes to the
     * client, and from then on the client's connection and {@code upstream} carry bytes both
     * ways, HTTP no more. The exchange has ended.
     */
    void tunnel(HttpResponse switching, io.netty.channel.Channel upstream);
}
