package dev.sluice.resilience;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Whether Redis decides the global rate limits now ({@code shared}) or local buckets do
 * ({@code fallback}), driven by what happens to the requests' asks and to the probe, with time
 * passed in. Many requests failing at once move it to fallback once, and one probe answered in
 * time moves it back once: each move returns true to exactly one caller, who logs it, so an
 * outage is one log line going down and one coming back, however much traffic sees it.
 */
public final class RedisHealth {
    public enum State { SHARED, FALLBACK }

    /** The state and since when (epoch millis), changed together. */
    public record Standing(State state, long sinceMillis, String why) {}

    private final AtomicReference<Standing> standing;
    private final LongAdder errors = new LongAdder();

    /** @param connected whether Redis answered at start */
    public RedisHealth(boolean connected, long nowMillis, String why) {
        this.standing = new AtomicReference<>(new Standing(connected ? State.SHARED : State.FALLBACK, nowMillis, why));
    }

    public boolean shared() {
        return standing.get().state() == State.SHARED;
    }

    public Standing standing() {
        return standing.get();
    }

    /** Asks that failed or ran out of time so far (a request decided locally because Redis did not answer). */
    public long errors() {
        return errors.sum();
    }

    /** A request's ask failed or ran out of time. True when this is what moved Redis to fallback. */
    public boolean failed(long nowMillis, String why) {
        errors.increment();
        return move(State.FALLBACK, nowMillis, why);
    }

    /** The probe could not reach Redis (it is not counted as a request's error). True when it moved to fallback. */
    public boolean unreachable(long nowMillis, String why) {
        return move(State.FALLBACK, nowMillis, why);
    }

    /** A probe was answered in time. True when this is what moved Redis back to shared. */
    public boolean answered(long nowMillis) {
        return move(State.SHARED, nowMillis, "answering");
    }

    private boolean move(State to, long nowMillis, String why) {
        while (true) {
            Standing now = standing.get();
            if (now.state() == to) {
                return false;
            }
            if (standing.compareAndSet(now, new Standing(to, nowMillis, why))) {
                return true;
            }
        }
    }
}
