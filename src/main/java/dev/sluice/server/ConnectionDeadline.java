package dev.sluice.server;

/**
 * A client connection's one deadline at a time: while it waits for its client, its idle timeout
 * between requests or its header timeout while a head comes in (in its listener's
 * {@link WaitingConnections}, which can also close it to make room at the limit); while a request
 * is in flight, the body or response deadline (in the event loop's {@link DeadlineWheel}). Arming,
 * moving and disarming are pointer and field writes ({@link TimedConnection}): no timer task per
 * request. Confined to the connection's event loop.
 */
final class ConnectionDeadline extends TimedConnection {
    enum Kind { NONE, IDLE, HEAD, BODY, RESPONSE }

    /** What the connection does when a deadline passes; called on its event loop. */
    interface Expiry {
        /** The idle timeout ran out between requests, or the place was wanted for a new connection. */
        void idleExpired();

        /** {@code HEAD}: the header timeout ran out, or the place was wanted for a new connection. */
        void deadlinePassed(Kind kind);
    }

    private final Expiry connection;
    private final WaitingConnections waiting;
    private final DeadlineWheel wheel;
    private Kind kind = Kind.NONE;

    ConnectionDeadline(Expiry connection, WaitingConnections waiting, DeadlineWheel wheel) {
        this.connection = connection;
        this.waiting = waiting;
        this.wheel = wheel;
    }

    Kind kind() {
        return kind;
    }

    /** Between requests: the listener's idle timeout, which its waiting lists apply. */
    void idleFrom(long now) {
        leaveWheel();
        kind = Kind.IDLE;
        waiting.idleFrom(this, now);
    }

    /** A head began at {@code now} (or the response before it ended): the header timeout, from then. */
    void headFrom(long now) {
        leaveWheel();
        kind = Kind.HEAD;
        waiting.headFrom(this, now);
    }

    /** A body or response deadline at {@code atNanos}. */
    void at(Kind kind, long atNanos) {
        leaveWaiting();
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
        leaveWaiting();
        leaveWheel();
        kind = Kind.NONE;
    }

    /** Disarms {@code which}, if it is the one armed. */
    void disarm(Kind which) {
        if (kind == which) {
            disarm();
        }
    }

    private boolean waitingForClient() {
        return kind == Kind.IDLE || kind == Kind.HEAD;
    }

    private void leaveWaiting() {
        if (waitingForClient()) {
            waiting.leave(this);
        }
    }

    private void leaveWheel() {
        if (!waitingForClient()) {
            unlink();
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
            return; // IDLE: the waiting list's idle timer, see idleExpired()
        }
        kind = Kind.NONE;
        connection.deadlinePassed(fired);
    }
}
