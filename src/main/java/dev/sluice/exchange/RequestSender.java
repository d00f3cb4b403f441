package dev.sluice.exchange;

import dev.sluice.upstream.UpstreamConnection;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * The send step: writes a request on its current attempt's connection, the head first and then
 * the body as it arrives, and keeps copies of what it wrote so that a retry can send it again
 * ({@link RequestBody}). Tells its {@link Exchange} when the head could not be written (not one
 * byte left Sluice) and when the whole request was.
 */
final class RequestSender {
    private final Exchange exchange;
    /** The request has no body (no Content-Length, no Transfer-Encoding, or a length of 0). */
    private final boolean bodyless;
    private final RequestBody body = new RequestBody();
    /** The current attempt's connection; null while there is none (connecting, between attempts, ended). */
    private UpstreamConnection connection;
    private boolean headWritten;
    private boolean fullyWritten;

    RequestSender(Exchange exchange, boolean bodyless) {
        this.exchange = exchange;
        this.bodyless = bodyless;
    }

    /** Writes {@code head} and the body parts held so far on {@code connection}, then flushes. */
    void sendOn(UpstreamConnection connection, HttpRequest head) {
        this.connection = connection;
        headWritten = false;
        fullyWritten = false;
        ChannelPromise written = connection.channel().newPromise();
        written.addListener((ChannelFutureListener) f -> onHeadWritten(connection, f.isSuccess()));
        connection.write(head, written);
        headWritten = true;
        HttpContent part;
        while ((part = body.nextHeld()) != null) {
            write(part, part instanceof LastHttpContent);
        }
        connection.flush();
    }

    private void onHeadWritten(UpstreamConnection written, boolean success) {
        if (written != connection) {
            return;
        }
        if (!success) {
            exchange.headNotSent(written);
        } else if (bodyless) {
            // Its end marker adds no bytes: the head was the whole request (see write).
            requestSent(written);
        }
    }

    /** A part of the body from the client: written now, or held until there is a connection to take it. */
    void content(HttpContent part, boolean last) {
        if (connection != null && headWritten) {
            write(part, last);
        } else {
            body.hold(part);
        }
    }

    private void write(HttpContent part, boolean last) {
        UpstreamConnection to = connection;
        body.sending(part, last);
        if (last && !bodyless) {
            ChannelPromise sent = to.channel().newPromise();
            sent.addListener((ChannelFutureListener) f -> {
                if (f.isSuccess() && to == connection) {
                    requestSent(to);
                }
            });
            to.write(part, sent);
        } else {
            // A bodyless request's empty end marker needs no promise of its own (one promise and
            // listener less per GET): the head's says when the request was sent.
            to.write(part);
        }
    }

    private void requestSent(UpstreamConnection to) {
        fullyWritten = true;
        exchange.requestSent(to);
    }

    /** Whether the client's body may be read now: the connection took the head and can take more. */
    boolean acceptsBody() {
        return connection != null && headWritten && connection.channel().isWritable();
    }

    /** Whether the head went out on the current connection. */
    boolean headWritten() {
        return headWritten;
    }

    /** Whether the whole request went out on the current connection. */
    boolean fullyWritten() {
        return fullyWritten;
    }

    /** Whether everything written so far could be written again. */
    boolean replayable() {
        return body.replayable();
    }

    /** The attempt ended: nothing more goes to its connection. */
    void detach() {
        connection = null;
    }

    /** For a retry: the next attempt sends the request from its start. */
    void rewind() {
        connection = null;
        headWritten = false;
        fullyWritten = false;
        body.rewind();
    }

    /** Frees the body parts held or copied: the exchange ended. */
    void release() {
        connection = null;
        body.release();
    }
}
