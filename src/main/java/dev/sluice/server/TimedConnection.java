package dev.sluice.server;

/**
 * A client connection as its event loop's timers see it ({@link ConnectionDeadline}): an entry of
 * at most one circular, doubly linked list at a time (its listener's {@link WaitingConnections}, or a
 * slot of the loop's {@link DeadlineWheel}), with the links kept in the entry itself. Going idle, arming a
 * deadline and disarming it are a few pointer writes and allocate nothing.
 *
 * <p>A list's head is a {@link Sentinel}, so an entry leaves its list without knowing which one
 * it is in. Confined to the connection's event loop, like the lists: no locks.
 */
abstract class TimedConnection {
    private TimedConnection prev;
    private TimedConnection next;
    /** In a waiting list: when the connection began waiting. In a wheel slot: when its deadline passes. */
    long timedAt;

    /** The idle timeout ran out: close the connection. */
    abstract void idleExpired();

    /** The deadline in {@link #timedAt} passed. */
    abstract void deadlinePassed();

    final boolean listed() {
        return prev != null;
    }

    /** Leaves its list, if it is in one. */
    final void unlink() {
        if (prev != null) {
            prev.next = next;
            next.prev = prev;
            prev = null;
            next = null;
        }
    }

    /** Joins the tail of {@code list} (leaving any other list first). */
    final void append(Sentinel list) {
        unlink();
        TimedConnection head = list;
        prev = head.prev;
        next = head;
        head.prev.next = this;
        head.prev = this;
    }

    /** A list's head: the entry before its first and after its last. */
    static final class Sentinel extends TimedConnection {
        Sentinel() {
            clear();
        }

        boolean isEmpty() {
            return next() == this;
        }

        /** The first entry, or null when empty. */
        TimedConnection first() {
            TimedConnection first = next();
            return first == this ? null : first;
        }

        private TimedConnection next() {
            return ((TimedConnection) this).next;
        }

        /** Moves every entry of {@code from} to the tail of this list, in order; {@code from} ends empty. */
        void takeAll(Sentinel from) {
            if (from.isEmpty()) {
                return;
            }
            TimedConnection first = from.next();
            TimedConnection last = ((TimedConnection) from).prev;
            TimedConnection tail = ((TimedConnection) this).prev;
            tail.next = first;
            first.prev = tail;
            last.next = this;
            ((TimedConnection) this).prev = last;
            from.clear();
        }

        private void clear() {
            ((TimedConnection) this).prev = this;
            ((TimedConnection) this).next = this;
        }

        @Override
        void idleExpired() {
            throw new IllegalStateException("a list head never expires");
        }

        @Override
        void deadlinePassed() {
            throw new IllegalStateException("a list head has no deadline");
        }
    }
}
