package dev.sluice.server;

/**
 * A client connection's one deadline at a time: its idle timeout between requests (in its
 * listener's {@link IdleConnections}), or the head, body or response deadline of the request in
 * flight (in the event loop's {@link DeadlineWheel}). Arming, moving and disarming are pointer and
 * field writes ({@link TimedConnection}): no timer task per request. Confined to the connection's
 * event loop.
 */
final class ConnectionDeadline extends TimedConnection {
    enum Kind { NONE, IDLE, HEAD, BODY, RESPONSE }

    /** What the connection does when a deadline passes; called on its event loop. */
    interface Expiry {
        /** The idle timeout ran out between requests. */
        void idleExpired();

        void deadlinePassed(Kind kind);
    }

    private final Expiry connection;
    private final IdleConnections idle;
    private final DeadlineWheel wheel;
    private Kind kind = Kind.NONE;

    ConnectionDeadline(Expiry connection, IdleConnections idle, DeadlineWheel wheel) {
        this.connection = connection;
        this.idle = idle;
        this.wheel = wheel;
    }

    Kind kind() {
        return kind;
    }

    /** Between requests: the listener's idle timeout, which its idle list applies. */
    void idleFrom(long now) {
        kind = Kind.IDLE;
        idle.add(this, now);
    }

    /** A head, body or response deadline at {@code atNanos}. */
    void at(Kind kind, long atNanos) {
        this.kind = kind;
        wheel.add(this, atNanos);
    }

    /** Moves the body deadline later, if that is the one armed: a field write, re-filed when its slot comes. */
    void extendBody(long atNanos) {
        if (kind == Kind.BODY) {
            timedAt = atNanos;
        }
    }

    void disarm() {
        kind = Kind.NONE;
        unlink();
    }

    /** Disarms {@code which}, if it is the one armed. */
    void disarm(Kind which) {
        if (kind == which) {
            disarm();
        }
    }

    @Override
    void idleExpired() {
        kind = Kind.NONE;
        connection.idleExpired();
    }

    @Override
    void deadlinePassed() {
        Kind fired = kind;
        if (fired == Kind.NONE || fired == Kind.IDLE) {
            return; // IDLE: the idle list's timer, see idleExpired()
        }
        kind = Kind.NONE;
        connection.deadlinePassed(fired);
    }
}
