package dev.sluice.replay;

import io.netty.channel.ConnectTimeoutException;
import java.io.EOFException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * Why a replayed request got no whole answer from the target: a closed set, each with the name the
 * report prints (the same words as Sluice's own failure kinds where they mean the same).
 */
enum ReplayFailure {
    /** Nothing listens at the target's port (or a firewall refuses). */
    CONNECT_REFUSED("connect_refused"),
    /** No connection within {@code --timeout}. */
    CONNECT_TIMEOUT("connect_timeout"),
    /** The target's name did not resolve, or its network or host is unreachable. */
    CONNECT_FAILED("connect_failed"),
    /** Connected, but the whole response did not arrive within {@code --timeout}. */
    RESPONSE_TIMEOUT("response_timeout"),
    /** The target reset the connection (RST) before the response was whole. */
    RESET("reset"),
    /** The target closed the connection before the response was whole. */
    CLOSED("closed"),
    /** The TLS handshake with an https target failed. */
    TLS("tls"),
    /** The target's answer was not HTTP/1.1 that can be parsed (a bad status line, bad framing). */
    BAD_RESPONSE("bad_response"),
    /** Any other I/O failure; the report keeps its first message. */
    IO_ERROR("io_error");

    private final String label;

    ReplayFailure(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }

    /** The kind of what Netty reported when connecting, writing or reading failed. */
    static ReplayFailure of(Throwable thrown) {
        boolean connect = false;
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof ConnectTimeoutException) {
                return CONNECT_TIMEOUT;
            }
            if (t instanceof SSLException) {
                return TLS;
            }
            if (t instanceof UnresolvedAddressException || t instanceof NoRouteToHostException) {
                return CONNECT_FAILED;
            }
            connect |= t instanceof ConnectException;
        }
        String messages = messages(thrown);
        if (connect) {
            // Netty's words: "Connection refused: /127.0.0.1:9"; an unreachable network says so.
            return messages.contains("refused") ? CONNECT_REFUSED : CONNECT_FAILED;
        }
        if (messages.contains("reset")) {
            return RESET;
        }
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof ClosedChannelException || t instanceof EOFException) {
                return CLOSED;
            }
        }
        return IO_ERROR;
    }

    private static String messages(Throwable thrown) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString().toLowerCase(Locale.ROOT);
    }
}
