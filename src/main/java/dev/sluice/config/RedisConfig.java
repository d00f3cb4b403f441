package dev.sluice.config;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Where the buckets of {@code scope: global} rate limits are kept ({@code redis:}): one Redis
 * shared by every Sluice of a fleet, so a limit holds for the fleet, not for each replica.
 *
 * @param address the Redis server, {@code host:port}
 * @param timeout how long a request waits for Redis's answer before a local bucket decides it
 *     and Redis is taken as down until it answers a probe again
 * @param replicas how many Sluices share the limits, which a local bucket divides the rate by
 *     while Redis is down; empty to learn it from the Sluices heartbeating in Redis
 */
public record RedisConfig(HostPort address, Duration timeout, OptionalInt replicas) {
    /** 50 ms: a Redis on the same network answers in well under a millisecond, so 50 ms is a
     * stalled or unreachable Redis, not a busy one; and a request pays it at most once, when
     * Redis goes down (later ones are decided locally at once until Redis answers again). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(50);
    /** 10 s: far beyond any Redis that is working; a timeout longer than that would hold every
     * request of a global rule as long while Redis is found down. */
    public static final Duration MOST_TIMEOUT = Duration.ofSeconds(10);
    /** A fleet bigger than this divides a rate into nothing. */
    public static final int MOST_REPLICAS = 10_000;

    public RedisConfig {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(replicas, "replicas");
        // The binder reports these at their line; here they guard records built in code.
        if (!timeout.isPositive() || timeout.compareTo(MOST_TIMEOUT) > 0) {
            throw new IllegalArgumentException("redis timeout " + timeout + " must be positive and at most "
                    + MOST_TIMEOUT);
        }
        if (replicas.isPresent() && (replicas.getAsInt() < 1 || replicas.getAsInt() > MOST_REPLICAS)) {
            throw new IllegalArgumentException("redis replicas " + replicas.getAsInt() + " must be from 1 to "
                    + MOST_REPLICAS);
        }
    }
}
