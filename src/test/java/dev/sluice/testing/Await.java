package dev.sluice.testing;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for a condition with a deadline, the replacement for sleeps as synchronisation.
 *
 * <pre>{@code
 * Await.until(Duration.ofSeconds(5), () -> relay.openConnections() == 0, "relay connections closed");
 * var reqs = Await.value(Duration.ofSeconds(5), backend::requests, r -> r.size() == 2, "two requests");
 * }</pre>
 *
 * <p>Polls with short parks (1 ms growing to 20 ms), so a satisfied condition is seen within
 * milliseconds and a failing test ends at the deadline with the description in the message.
 */
public final class Await {
    private static final long FIRST_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private Await() {}

    /** Returns once {@code condition} holds; throws {@link AssertionError} naming {@code description} at the deadline. */
    public static void until(Duration timeout, BooleanSupplier condition, String description) {
        until(timeout, condition, () -> description);
    }

    /** As {@link #until(Duration, BooleanSupplier, String)}; the description is computed at failure, so it can show the last state. */
    public static void until(Duration timeout, BooleanSupplier condition, Supplier<String> description) {
        Objects.requireNonNull(condition, "condition");
        value(timeout, condition::getAsBoolean, Boolean::booleanValue, description);
    }

    /**
     * Polls {@code supplier} until {@code accept} holds for its value and returns that value; the failure
     * message shows the last value seen.
     */
    public static <T> T value(Duration timeout, Supplier<T> supplier, Predicate<? super T> accept, String description) {
        return value(timeout, supplier, accept, () -> description);
    }

    private static <T> T value(Duration timeout, Supplier<T> supplier, Predicate<? super T> accept, Supplier<String> description) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long park = FIRST_PARK_NANOS;
        T last;
        while (true) {
            last = supplier.get();
            if (accept.test(last)) {
                return last;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                String lastSeen = last instanceof Boolean ? "" : " (last value: " + last + ")";
                throw new AssertionError("Timed out after " + timeout + " waiting for: " + description.get() + lastSeen);
            }
            parkOrFail(Math.min(park, left), description);
            park = Math.min(park * 2, MAX_PARK_NANOS);
        }
    }

    /**
     * Re-runs {@code assertion} (typically AssertJ assertions) until it stops throwing {@link AssertionError};
     * at the deadline rethrows the last one, prefixed with the timeout.
     */
    public static void untilAsserted(Duration timeout, Runnable assertion) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long park = FIRST_PARK_NANOS;
        while (true) {
            try {
                assertion.run();
                return;
            } catch (AssertionError e) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("Still failing after " + timeout + ": " + e.getMessage(), e);
                }
                parkOrFail(Math.min(park, left), () -> "assertion: " + e.getMessage());
                park = Math.min(park * 2, MAX_PARK_NANOS);
            }
        }
    }

    private static void parkOrFail(long nanos, Supplier<String> description) {
        LockSupport.parkNanos(nanos);
        if (Thread.currentThread().isInterrupted()) {
            throw new AssertionError("Interrupted while waiting for: " + description.get());
        }
    }
}
