package dev.sluice.apps;

import dev.sluice.config.AppConfig;
import java.time.Duration;

/**
 * The wait before the next start of an app that keeps failing, counted from its last failure (as
 * Kubernetes' crash-loop backoff is): {@code backoff.first} after one failure, doubling with each
 * failure in a row, up to {@code backoff.max}. Counted from the failure, not the start, so a slow
 * start that fails is not retried at once. Pure: tests call it with hand-made counts and times.
 */
record Backoff(long firstNanos, long maxNanos) {

    /** A run this long counts as a success: the failures in a row start again from zero. */
    Duration resetAfter() {
        return Duration.ofNanos(maxNanos);
    }

    static Backoff of(AppConfig app) {
        return new Backoff(app.backoff().toNanos(), app.backoffMax().toNanos());
    }

    /** The wait after {@code failures} failures in a row; none after none. */
    long delayNanos(int failures) {
        if (failures <= 0) {
            return 0;
        }
        long delay = firstNanos;
        for (int i = 1; i < failures && delay < maxNanos; i++) {
            delay *= 2;
        }
        return Math.min(delay, maxNanos);
    }

    /** The earliest time of the next start, when the last run failed at {@code failedNanos}. */
    long nextStartNanos(long failedNanos, int failures) {
        return failedNanos + delayNanos(failures);
    }
}
