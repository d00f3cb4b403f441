package dev.sluice.resilience;

import dev.sluice.config.RateLimitConfig;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.BucketListener;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.MathType;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.local.LockFreeBucket;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One rate limit rule of a route: per key, a token bucket (Bucket4j's lock-free local bucket)
 * and a count of requests in flight, kept in a bounded {@link KeyTable}. It answers for one key
 * at a time; {@link RateLimits} strings a route's rules together.
 */
public final class RateLimiter {
    private final RateLimitConfig config;
    /** Shared by every bucket of the rule: a bucket is then its state and little else. */
    private final BucketConfiguration buckets;
    private final TimeMeter time;
    private final KeyTable<KeyState> table;
    /** The {@code route} key's one state: no table, no hashing. */
    private final KeyState whole;
    private final LongAdder refused = new LongAdder();
    private final LongAdder shadowRefused = new LongAdder();

    /** @param nanoClock the clock the buckets refill by (tests pass a hand-made one) */
    RateLimiter(RateLimitConfig config, LongSupplier nanoClock) {
        this(config, nanoClock, java.util.concurrent.ThreadLocalRandom.current().nextLong());
    }

    RateLimiter(RateLimitConfig config, LongSupplier nanoClock, long seed) {
        this.config = config;
        this.time = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return nanoClock.getAsLong();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        this.buckets = config.rate().map(rate -> BucketConfiguration.builder()
                .addLimit(Bandwidth.builder().capacity(config.burst())
                        // Greedy: 20/s adds a token every 50 ms, not 20 at each second's end.
                        .refillGreedy(rate.tokens(), rate.period()).build())
                .build()).orElse(null);
        boolean oneKey = config.key() instanceof RateLimitConfig.Key.Route;
        this.whole = oneKey ? newState() : null;
        this.table = oneKey ? null : new KeyTable<>(config.maxKeys(), this::newState, seed);
    }

    private KeyState newState() {
        return new KeyState(buckets == null ? null
                : new LockFreeBucket(buckets, MathType.INTEGER_64_BITS, time, BucketListener.NOPE), config.burst());
    }

    public RateLimitConfig config() {
        return config;
    }

    public String name() {
        return config.name();
    }

    /** The state {@code key} counts on (the key is ignored for the {@code route} key). */
    KeyState stateOf(String key) {
        return whole != null ? whole : table.stateOf(key);
    }

    /** Requests this rule refused (with 429) so far. */
    public long refused() {
        return refused.sum();
    }

    /** Requests a shadow rule would have refused so far; it let them through. */
    public long shadowRefused() {
        return shadowRefused.sum();
    }

    void countRefusal() {
        if (config.mode() == RateLimitConfig.Mode.SHADOW) {
            shadowRefused.increment();
        } else {
            refused.increment();
        }
    }

    /** Keys holding a state now: at most {@code max_keys}, whatever the number of keys seen. */
    public int keysHeld() {
        return table == null ? 1 : table.used();
    }

    /** The table itself, for measuring what it holds. */
    Object table() {
        return table == null ? whole : table;
    }

    /** One key's state: its bucket (none for a rule without a rate) and its requests in flight. */
    static final class KeyState implements KeyTable.State {
        private static final AtomicIntegerFieldUpdater<KeyState> IN_FLIGHT =
                AtomicIntegerFieldUpdater.newUpdater(KeyState.class, "inFlight");

        private final LockFreeBucket bucket;
        private final long capacity;
        private volatile int inFlight;

        KeyState(LockFreeBucket bucket, long capacity) {
            this.bucket = bucket;
            this.capacity = capacity;
        }

        /** Takes a token if there is one; the probe says how many are left, or how long until the next. */
        ConsumptionProbe tryTake() {
            return bucket.tryConsumeAndReturnRemaining(1);
        }

        /** Gives back a token taken by a request that another rule then refused. */
        void giveBack() {
            bucket.addTokens(1);
        }

        boolean limitsRate() {
            return bucket != null;
        }

        /** Counts one more request in flight if fewer than {@code max} are; returns whether it did. */
        boolean tryEnter(int max) {
            while (true) {
                int n = inFlight;
                if (n >= max) {
                    return false;
                }
                if (IN_FLIGHT.compareAndSet(this, n, n + 1)) {
                    return true;
                }
            }
        }

        /** Counts one more request in flight whatever the count (a shadow rule); returns whether it was over {@code max}. */
        boolean enter(int max) {
            return IN_FLIGHT.getAndIncrement(this) >= max;
        }

        void exit() {
            IN_FLIGHT.decrementAndGet(this);
        }

        int inFlight() {
            return inFlight;
        }

        @Override
        public boolean asGoodAsNew() {
            return inFlight == 0 && (bucket == null || bucket.getAvailableTokens() >= capacity);
        }
    }
}
