package dev.sluice.server;

import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TLS listener's failed handshakes, counted by why (metric
 * {@code sluice_tls_handshake_failures_total{listener,reason}}), never logged one by one: scanners
 * and old clients fail handshakes all day, and a line each would bury the log.
 */
final class HandshakeFailures {
    enum Reason {
        /** The handshake did not finish within {@code tls.handshake_timeout}. */
        TIMEOUT,
        /** What came was not TLS (plain HTTP to an HTTPS port, or noise). */
        NOT_TLS,
        /** The client left before the handshake ended. */
        CLOSED,
        /** The peers did not agree (no common protocol or cipher, an alert: the client refused the certificate). */
        REFUSED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Reason of(Throwable cause) {
            for (Throwable t = cause; t != null; t = t.getCause()) {
                if (t instanceof SslHandshakeTimeoutException) {
                    return TIMEOUT;
                }
                if (t instanceof NotSslRecordException) {
                    return NOT_TLS;
                }
                if (t instanceof ClosedChannelException) {
                    return CLOSED;
                }
            }
            return REFUSED;
        }
    }

    private final AtomicLong[] counts = new AtomicLong[Reason.values().length];

    HandshakeFailures() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new AtomicLong();
        }
    }

    void failed(Reason reason) {
        counts[reason.ordinal()].incrementAndGet();
    }

    AtomicLong count(Reason reason) {
        return counts[reason.ordinal()];
    }

    long total() {
        long sum = 0;
        for (AtomicLong count : counts) {
            sum += count.get();
        }
        return sum;
    }
}
