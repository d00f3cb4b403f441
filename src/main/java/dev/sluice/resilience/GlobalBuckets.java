package dev.sluice.resilience;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import java.util.concurrent.CompletableFuture;

/**
 * Where the buckets of {@code scope: global} rate limits live: one bucket per rule and key,
 * shared by every Sluice of the fleet ({@link RedisBuckets}: in Redis). Asked from any event
 * loop; nothing here waits: an answer is a future, completed on whatever thread Redis answers on.
 *
 * <p>While the store is {@linkplain #shared() not answering}, a global rule is decided at once by
 * a local bucket of its rate divided by {@link #replicas()}: never refused for want of Redis
 * (fail open), never held up by it (no timeout paid per request).
 */
public interface GlobalBuckets {
    /** True while the shared buckets decide; false: global rules fall back to local buckets at once. */
    boolean shared();

    /** How many Sluices share the limits: what a local fallback bucket divides a global rate by. */
    Replicas replicas();

    /** How long a request waits for an answer before a local bucket decides it ({@code redis.timeout}). */
    long timeoutNanos();

    /**
     * Takes a token from the bucket {@code key} (made from {@code config} when it is new).
     * Completes with what the bucket said, or exceptionally when the store failed.
     */
    CompletableFuture<ConsumptionProbe> tryTake(byte[] key, BucketConfiguration config);

    /** Gives back a token taken for a request that another rule then refused; nobody waits for it. */
    void giveBack(byte[] key, BucketConfiguration config);

    /** An ask failed or ran out of time: the store is taken as down until it answers a probe again. */
    void failed(String why);

    /**
     * How many Sluices share the limits, and where that number comes from: {@code config}
     * ({@code redis.replicas}), {@code learned} (Sluices heartbeating in Redis), or
     * {@code default} (1: nothing known yet, so each Sluice alone keeps the whole rate).
     */
    record Replicas(int count, String from) {
        public static final Replicas ONE = new Replicas(1, "default");

        public Replicas {
            if (count < 1) {
                throw new IllegalArgumentException("replicas " + count);
            }
        }
    }

    /** No store: every global rule is decided by a local bucket of its whole rate. */
    GlobalBuckets NONE = new GlobalBuckets() {
        @Override
        public boolean shared() {
            return false;
        }

        @Override
        public Replicas replicas() {
            return Replicas.ONE;
        }

        @Override
        public long timeoutNanos() {
            return 0;
        }

        @Override
        public CompletableFuture<ConsumptionProbe> tryTake(byte[] key, BucketConfiguration config) {
            return CompletableFuture.failedFuture(new IllegalStateException("no redis configured"));
        }

        @Override
        public void giveBack(byte[] key, BucketConfiguration config) {
        }

        @Override
        public void failed(String why) {
        }
    };
}
