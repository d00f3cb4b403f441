package dev.sluice.upstream;

import java.util.concurrent.TimeUnit;

/**
 * When an HTTP/2 connection to an endpoint sends a keepalive PING, and when it gives up on one
 * ({@code clusters[].http2}): the decisions of {@link Http2Keepalive}, as values, on times it is
 * given. Touched only from the connection's loop.
 *
 * <ul>
 *   <li>A PING goes out when nothing has come from the endpoint for {@code interval} and the
 *       connection carries a stream (a connection without one is closed after the cluster's
 *       {@code idle_timeout}; a stream opened on one that has been quiet that long is asked about
 *       at once, when its HEADERS go out, rather than an interval later).</li>
 *   <li>Anything from the endpoint answers it: its ACK or any other frame. Nothing within
 *       {@code timeout}: the connection is gone; close it.</li>
 *   <li>While the endpoint sends no HEADERS or DATA (only ACKs, WINDOW_UPDATEs, SETTINGS...),
 *       PINGs are {@link #QUIET_SPACING_NANOS} apart at least. gRPC servers count a PING that
 *       comes sooner after the last one, with no HEADERS or DATA sent by them in between (what
 *       resets their count: grpc-java's {@code KeepAliveEnforcer}, grpc-go's ping strikes), as a
 *       strike, and the third strike is a GOAWAY
 *       ENHANCE_YOUR_CALM "too_many_pings" that ends every stream on the connection (grpc-go's
 *       and grpc-java's default permit time is 5 minutes): a long-quiet server stream must not be
 *       pinged to death.</li>
 * </ul>
 */
final class PingSchedule {
    /** 5 minutes: the least time gRPC servers allow between PINGs while they send nothing. */
    static final long QUIET_SPACING_NANOS = TimeUnit.MINUTES.toNanos(5);

    enum Action { PING, CLOSE, WAIT }

    /** What to do now, and in how long to ask again. */
    record Step(Action action, long delayNanos) {
        static Step waitFor(long nanos) {
            return new Step(Action.WAIT, nanos);
        }
    }

    private final long intervalNanos;
    private final long timeoutNanos;
    private long lastHeardNanos;
    private boolean pingOutstanding;
    private boolean pinged;
    private long pingSentNanos;
    /** HEADERS or DATA came since the last PING went out. */
    private boolean spokeSincePing;

    PingSchedule(long intervalNanos, long timeoutNanos, long now) {
        this.intervalNanos = intervalNanos;
        this.timeoutNanos = timeoutNanos;
        this.lastHeardNanos = now;
    }

    /** Frames came from the endpoint at {@code now}; {@code spoke}: HEADERS or DATA among them. */
    void heard(long now, boolean spoke) {
        lastHeardNanos = now;
        pingOutstanding = false;
        if (spoke) {
            spokeSincePing = true;
        }
    }

    /**
     * The step at {@code now}: {@code streams} is whether the connection carries a stream (or one
     * is being opened). A {@link Action#PING} is taken as sent.
     */
    Step next(long now, boolean streams) {
        if (pingOutstanding) {
            long waited = now - pingSentNanos;
            return waited >= timeoutNanos ? new Step(Action.CLOSE, 0) : Step.waitFor(timeoutNanos - waited);
        }
        long quiet = now - lastHeardNanos;
        if (quiet < intervalNanos) {
            return Step.waitFor(intervalNanos - quiet);
        }
        if (!streams) {
            return Step.waitFor(intervalNanos);
        }
        if (pinged && !spokeSincePing && now - pingSentNanos < QUIET_SPACING_NANOS) {
            return Step.waitFor(pingSentNanos + QUIET_SPACING_NANOS - now);
        }
        pinged = true;
        pingOutstanding = true;
        pingSentNanos = now;
        spokeSincePing = false;
        return new Step(Action.PING, timeoutNanos);
    }
}
