package dev.sluice.apps;

import dev.sluice.failure.FailureKind;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The requests waiting for an app to start, in order of arrival, at most {@code max}. Shared by
 * the event loops (which add and withdraw) and the app's supervisor thread (which releases or
 * refuses them all): the queue is lock-free and each place is claimed once, by whichever side
 * gets there first, so a request is never both released and timed out.
 */
final class HoldQueue {
    private final int max;
    private final ConcurrentLinkedQueue<Place> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();

    HoldQueue(int max) {
        this.max = max;
    }

    /** Queues {@code waiter}; empty (the queue is full) when it cannot. */
    java.util.Optional<Place> enter(AppWaiter waiter) {
        if (size.incrementAndGet() > max) {
            size.decrementAndGet();
            return java.util.Optional.empty();
        }
        Place place = new Place(waiter);
        queue.add(place);
        return java.util.Optional.of(place);
    }

    int size() {
        return size.get();
    }

    /** Every waiting request goes on, oldest first. */
    void releaseAll() {
        Place next;
        while ((next = queue.poll()) != null) {
            if (next.claim()) {
                size.decrementAndGet();
                next.waiter.ready();
            }
        }
    }

    /** Every waiting request is refused with {@code kind}, told to come back in {@code retryAfterSeconds}. */
    void refuseAll(FailureKind kind, long retryAfterSeconds) {
        Place next;
        while ((next = queue.poll()) != null) {
            if (next.claim()) {
                size.decrementAndGet();
                next.waiter.refused(kind, retryAfterSeconds);
            }
        }
    }

    /** One waiting request's place. */
    final class Place {
        private final AppWaiter waiter;
        private final AtomicBoolean claimed = new AtomicBoolean();

        private Place(AppWaiter waiter) {
            this.waiter = waiter;
        }

        private boolean claim() {
            return claimed.compareAndSet(false, true);
        }

        /**
         * The request stops waiting (its hold timed out, or its client left). True when it was
         * still waiting; false when it was already released or refused (its waiter is being told).
         */
        public boolean withdraw() {
            if (!claim()) {
                return false;
            }
            queue.remove(this);
            size.decrementAndGet();
            return true;
        }
    }
}
