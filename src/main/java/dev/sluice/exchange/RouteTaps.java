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
    /**
     * What became of the mirror copy of a request on a route with a mirror: each request ends in
     * exactly one. The first four are decided before anything is sent; a copy sent ends in one of
     * the others.
     */
    enum MirrorOutcome {
        /** The route's {@code fraction} did not draw it. */
        NOT_SAMPLED,
        /** Sampled, but the client's request was never forwarded (refused, or answered by Sluice): nothing to copy. */
        NOT_FORWARDED,
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

        /** Written once: the access log takes it per request. */
        private final String label = name().toLowerCase(Locale.ROOT);

        String label() {
            return label;
        }
    }

    /** The access log's {@code mirror} of a request whose copy went out (how it ended is in the metrics). */
    static final String SENT = "sent";
    /** The mirror's final statuses by class: 1xx (unused: interim answers are read past), 2xx … 5xx. */
    private static final int STATUS_CLASSES = 6;

    private final Map<MirrorOutcome, LongAdder> mirror = new EnumMap<>(MirrorOutcome.class);
    private final LongAdder sent = new LongAdder();
    private final LongAdder[] answeredByClass = new LongAdder[STATUS_CLASSES];
    final AtomicInteger mirrorInFlight = new AtomicInteger();
    final RecordCounts record = new RecordCounts();

    RouteTaps() {
        for (MirrorOutcome o : MirrorOutcome.values()) {
            mirror.put(o, new LongAdder());
        }
        for (int i = 0; i < STATUS_CLASSES; i++) {
            answeredByClass[i] = new LongAdder();
        }
    }

    void count(MirrorOutcome outcome) {
        mirror.get(outcome).increment();
    }

    /** A copy went out: it had an in-flight place and a healthy endpoint. */
    void countSent() {
        sent.increment();
    }

    long sent() {
        return sent.sum();
    }

    /** A copy was answered whole with {@code status}. */
    void countAnswer(int status) {
        answeredByClass[Math.clamp(status / 100, 1, 5)].increment();
    }

    /** The copies answered with a status of class {@code hundreds} (2 for 2xx). */
    long answered(int hundreds) {
        return answeredByClass[hundreds].sum();
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
