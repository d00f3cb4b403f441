package dev.sluice.resilience;

import dev.sluice.config.RateLimitConfig;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.BucketListener;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.MathType;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.local.LockFreeBucket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One rate limit rule of a route: per key, a token bucket (Bucket4j's lock-free local bucket)
 * and a count of requests in flight, kept in a bounded {@link KeyTable}. It answers for one key
 * at a time; {@link RateLimits} strings a route's rules together.
 *
 * <p>A global rule ({@code scope: global}) keeps its buckets in {@link GlobalBuckets} under
 * {@link #redisKey}; here it keeps only the local buckets that decide while Redis is down, of
 * its rate and burst divided by the number of replicas.
 */
public final class RateLimiter {
    /** Every key Sluice writes in Redis starts with this. */
    public static final String REDIS_PREFIX = "sluice:rl:";

    private final RateLimitConfig config;
    private final LongSupplier nanoClock;
    /** {@code sluice:rl:<route>:<rule>:<rate>:<burst>:} for a global rule; null for a local one. */
    private final byte[] redisPrefix;
    /** A global rule's local buckets for the replica count they were made for. */
    private volatile Fallback fallback;
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
        this("", config, nanoClock);
    }

    /** @param route the route's name, part of a global rule's keys in Redis */
    RateLimiter(String route, RateLimitConfig config, LongSupplier nanoClock) {
        this(route, config, nanoClock, java.util.concurrent.ThreadLocalRandom.current().nextLong());
    }

    RateLimiter(RateLimitConfig config, LongSupplier nanoClock, long seed) {
        this("", config, nanoClock, seed);
    }

    private RateLimiter(String route, RateLimitConfig config, LongSupplier nanoClock, long seed) {
        this.config = config;
        this.nanoClock = nanoClock;
        boolean global = config.scope() == RateLimitConfig.Scope.GLOBAL;
        // The rate and burst are part of the key: a changed rule gets buckets of its own, as a
        // local one does, where a bucket kept under the old key would keep the old configuration
        // for as long as its key is busy (Bucket4j makes a bucket's configuration once).
        this.redisPrefix = global ? (REDIS_PREFIX + route + ":" + config.name() + ":"
                + config.rate().orElseThrow().text() + ":" + config.burst() + ":").getBytes(StandardCharsets.UTF_8) : null;
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
        // A global rule's keys count in Redis, or in its fallback's table: none of its own.
        this.whole = oneKey && !global ? newState() : null;
        this.table = oneKey || global ? null : new KeyTable<>(config.maxKeys(), this::newState, seed);
    }

    public boolean global() {
        return redisPrefix != null;
    }

    /** The bucket configuration of every key: what a global rule's buckets in Redis are made from. */
    BucketConfiguration buckets() {
        return buckets;
    }

    /** A global rule's key in Redis for {@code key}: {@code sluice:rl:<route>:<rule>:<rate>:<burst>:<key>}. */
    byte[] redisKey(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] whole = Arrays.copyOf(redisPrefix, redisPrefix.length + k.length);
        System.arraycopy(k, 0, whole, redisPrefix.length, k.length);
        return whole;
    }

    /**
     * The local bucket that decides for {@code key} of a global rule while Redis does not: the
     * rule's rate and burst divided by {@code replicas}, so the fleet together still lets about
     * the global rate through. Made anew (full) when the replica count changes.
     */
    KeyState fallbackState(String key, int replicas) {
        Fallback f = fallback;
        if (f == null || f.replicas() != replicas) {
            f = new Fallback(replicas, new RateLimiter(config.dividedAmong(replicas), nanoClock));
            fallback = f;
        }
        return f.limiter().stateOf(key);
    }

    private record Fallback(int replicas, RateLimiter limiter) {}

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

    /** Keys holding a state now: at most {@code max_keys}, whatever the number of keys seen (a global rule: in its fallback). */
    public int keysHeld() {
        if (global()) {
            Fallback f = fallback;
            return f == null ? 0 : f.limiter().keysHeld();
        }
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
