package dev.sluice.exchange;

import dev.sluice.record.RecordCounts;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One route's mirror and recording counts, shared by the event loops and kept across reloads (by
 * the route's name) so {@code /metrics} never goes back; and the mirror's in-flight count, the
 * bound that keeps a slow staging from holding more than {@code max_in_flight} copies.
 */
final class RouteTaps {
    /** What became of a sampled request's mirror copy: each copy ends in exactly one. */
    enum MirrorOutcome {
        /** The mirror's response was read whole (and discarded). */
        ANSWERED,
        /** The copy's connection could not be opened, or failed, or the mirror's response was not HTTP. */
        FAILED,
        /** No whole response within the mirror's {@code timeout}: the copy's connection was closed. */
        TIMED_OUT,
        /** {@code max_in_flight} copies were in flight already: not sent. */
        DROPPED_BUSY,
        /** The mirror cluster had no endpoint to take it: not sent. */
        DROPPED_NO_ENDPOINT,
        /** The body is larger than the mirror's {@code max_body}: not sent, or cut when it grew past it. */
        TOO_LARGE,
        /** The client's request ended before its body did (the client left, a bad body): the copy was cut. */
        CUT;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Map<MirrorOutcome, LongAdder> mirror = new EnumMap<>(MirrorOutcome.class);
    final AtomicInteger mirrorInFlight = new AtomicInteger();
    final RecordCounts record = new RecordCounts();

    RouteTaps() {
        for (MirrorOutcome o : MirrorOutcome.values()) {
            mirror.put(o, new LongAdder());
        }
    }

    void count(MirrorOutcome outcome) {
        mirror.get(outcome).increment();
    }

    long mirrored(MirrorOutcome outcome) {
        return mirror.get(outcome).sum();
    }

    /** Takes an in-flight place for a copy, if one is free (a lock-free bound shared by the loops). */
    boolean takeMirrorPlace(int max) {
        if (mirrorInFlight.incrementAndGet() > max) {
            mirrorInFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    void giveMirrorPlace() {
        mirrorInFlight.decrementAndGet();
    }
}
