package dev.sluice.resilience;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps retries per cluster so a failing cluster sees at most about 1.2× the attempts of its
 * client requests, not a retry storm (Finagle's RetryBudget, Envoy's retry budgets). Each client
 * request deposits 0.2 tokens; each retry withdraws one. A small steady refill lets a
 * low-traffic cluster still retry, and a cap bounds how much a long calm period can bank.
 * Shared by all event loops: one atomic balance, no locks. Time comes from the caller.
 */
public final class RetryBudget {
    /** 20%: absorbs sporadic failures while bounding the extra load of an outage to 1.2×. */
    public static final double DEFAULT_RATIO = 0.2;
    /** 5 retries per second: lets a low-traffic cluster retry at all. */
    public static final int DEFAULT_MIN_RETRIES_PER_SECOND = 5;
    /** 100 retries banked: rides out a backend dying with that many requests in flight. */
    public static final int DEFAULT_MAX_BALANCE = 100;

    private static final long UNIT = 1000;
    private final long depositUnits;
    private final long refillUnitsPerSecond;
    private final long maxUnits;
    private final AtomicLong balance;
    private final AtomicLong lastRefillNanos;

    public RetryBudget(double ratio, int minRetriesPerSecond, int maxBalance, long nowNanos) {
        this.depositUnits = Math.round(ratio * UNIT);
        this.refillUnitsPerSecond = minRetriesPerSecond * UNIT;
        this.maxUnits = maxBalance * UNIT;
        // Start with one second of the floor, so the first failures after start can be retried.
        this.balance = new AtomicLong(Math.min(maxUnits, refillUnitsPerSecond));
        this.lastRefillNanos = new AtomicLong(nowNanos);
    }

    public static RetryBudget defaults(long nowNanos) {
        return new RetryBudget(DEFAULT_RATIO, DEFAULT_MIN_RETRIES_PER_SECOND, DEFAULT_MAX_BALANCE, nowNanos);
    }

    /** Every client request that reaches the cluster pays in. */
    public void deposit() {
        add(depositUnits);
    }

    /** Takes one retry's worth if the balance has it. */
    public boolean tryWithdraw(long nowNanos) {
        refill(nowNanos);
        while (true) {
            long current = balance.get();
            if (current < UNIT) {
                return false;
            }
            if (balance.compareAndSet(current, current - UNIT)) {
                return true;
            }
        }
    }

    /** Retries the balance can pay for now (for /status and tests). */
    public long available(long nowNanos) {
        refill(nowNanos);
        return balance.get() / UNIT;
    }

    private void refill(long nowNanos) {
        long last = lastRefillNanos.get();
        long elapsed = nowNanos - last;
        // Refill in whole milliseconds to keep the arithmetic exact.
        long units = refillUnitsPerSecond * (elapsed / 1_000_000) / 1000;
        if (units > 0 && lastRefillNanos.compareAndSet(last, nowNanos)) {
            add(units);
        }
    }

    private void add(long units) {
        while (true) {
            long current = balance.get();
            long next = Math.min(maxUnits, current + units);
            if (current == next || balance.compareAndSet(current, next)) {
                return;
            }
        }
    }
}
