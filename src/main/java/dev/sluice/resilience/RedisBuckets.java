package dev.sluice.resilience;

import dev.sluice.config.RedisConfig;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.distributed.proxy.optimization.Optimizations;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The global rate limits' buckets in Redis: Bucket4j's asynchronous proxy manager over one Lettuce
 * connection per Sluice, made at start and closed with the gateway (or when a reload changes
 * {@code redis:}). A request's ask is a future; no event loop waits on Redis.
 *
 * <p>Whether Redis decides is {@link RedisHealth}'s: an ask that fails or times out (the caller
 * times it, {@link RateLimits.Outcome.Pending}) moves it to fallback, with one WARN line. A probe
 * on this class's own thread, {@code sluice-redis}, every {@value #PROBE_MILLIS} ms, brings it
 * back once Redis answers a PING within {@code redis.timeout} (one WARN line again), and
 * heartbeats this Sluice in a sorted set so the fleet's size can be learned.
 */
public final class RedisBuckets implements GlobalBuckets, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisBuckets.class);
    /** 1 s: Redis back in service is used again within a second or two; a probe a second costs Redis nothing. */
    static final long PROBE_MILLIS = 1_000;
    /** A Sluice whose heartbeat is older than 5 s (five missed probes) no longer counts as a replica. */
    static final long REPLICA_LIVE_MILLIS = 5_000;
    /** The sorted set of live Sluices: member a Sluice's id, score its last heartbeat (epoch millis). */
    static final byte[] REPLICAS_KEY = "sluice:replicas".getBytes(StandardCharsets.UTF_8);
    /** A bucket's key lives until the bucket would be full again, and 10 s more: Redis's memory is
     * bounded by the keys active within a refill time, as the local tables are by max_keys. */
    private static final Duration KEY_EXPIRY_MARGIN = Duration.ofSeconds(10);
    /** Connecting (at start, and by the probe while no connection was ever made) gives up after 3 s:
     * a refused connect fails at once, and a cold JVM on a busy host can take a second or more
     * over Lettuce's handshake (HELLO, CLIENT SETINFO). */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    /** 16,384 keys' bucket objects (a few hundred bytes each), the default max_keys of one rule. */
    private static final int MOST_PROXIES = 16_384;
    /** A bucket nobody limits by, taken from once at start. */
    private static final byte[] WARM_UP_KEY = "sluice:rl:warm-up".getBytes(StandardCharsets.UTF_8);

    private final RedisConfig config;
    private final Clock clock;
    private final RedisHealth health;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService probe;
    private final String replicaId;
    private final byte[] replicaMember;
    private volatile StatefulRedisConnection<byte[], byte[]> connection;
    private volatile AsyncProxyManager<byte[]> buckets;
    /** The buckets of the keys asked lately, at most {@link #MOST_PROXIES}. */
    private final Map<ByteBuffer, AsyncBucketProxy> proxies = new ConcurrentHashMap<>();
    /** Sluices heartbeating in Redis at the last probe that read them; 0 before any. */
    private volatile int learnedReplicas;
    /** Closed by a reload that replaced it: asks still answering fail quietly, no outage to tell. */
    private volatile boolean closed;

    private RedisBuckets(RedisConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.resources = DefaultClientResources.builder()
                // One I/O thread: a Sluice's asks are small and few next to what one thread carries.
                .ioThreadPoolSize(1).computationThreadPoolSize(1)
                // Lettuce reconnects by itself; at most a second apart, so a restarted Redis is found soon.
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, RedisURI.builder().withHost(config.address().host())
                .withPort(config.address().port()).withTimeout(CONNECT_TIMEOUT).build());
        client.setOptions(ClientOptions.builder()
                // While disconnected a command fails at once, so a request is decided locally at
                // once instead of waiting out its timeout in a buffer.
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                // Asks the requests stopped waiting for are dropped after this, not kept forever
                // behind a Redis that stopped answering.
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2).plus(config.timeout())))
                .build());
        this.replicaId = ProcessHandle.current().pid() + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        this.replicaMember = replicaId.getBytes(StandardCharsets.UTF_8);
        String why = connect();
        this.health = new RedisHealth(why == null, clock.millis(), why == null ? "connected" : why);
        if (why != null) {
            LOG.warn("redis {} did not answer ({}): global rate limits fall back to local buckets of rate/{} "
                    + "(replicas: {}, {}) until it answers", config.address(), why, replicas().count(),
                    replicas().count(), replicas().from());
        } else {
            LOG.info("global rate limits shared through redis {}", config.address());
        }
        this.probe = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-redis").unstarted(r));
        probe.scheduleWithFixedDelay(this::probe, 0, PROBE_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Connects to {@code config.address()}; off the event loops (at start, the connect waits up
     * to a second). Redis down at start is not an error: the limits start in fallback.
     */
    public static RedisBuckets start(RedisConfig config) {
        return new RedisBuckets(config, Clock.systemUTC());
    }

    /** Null when connected, else why not. */
    private String connect() {
        try {
            StatefulRedisConnection<byte[], byte[]> made = client.connect(ByteArrayCodec.INSTANCE);
            proxies.clear();
            this.buckets = Bucket4jLettuce.casBasedBuilder(made)
                    .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
                            KEY_EXPIRY_MARGIN))
                    .build().asAsync();
            this.connection = made;
            warmUp();
            return null;
        } catch (RuntimeException e) {
            return "cannot connect (" + e.getMessage() + ")";
        }
    }

    /**
     * One ask before any request makes one: its first run loads and compiles Bucket4j's and
     * Lettuce's code, which on a cold JVM takes longer than {@code redis.timeout} and would read
     * as Redis down at the first request.
     */
    private void warmUp() {
        BucketConfiguration one = BucketConfiguration.builder()
                .addLimit(io.github.bucket4j.Bandwidth.builder().capacity(1).refillGreedy(1, Duration.ofSeconds(1)).build())
                .build();
        try {
            tryTake(WARM_UP_KEY, one).get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.debug("redis {}: warm-up ask: {}", config.address(), e.toString());
        }
    }

    public RedisConfig config() {
        return config;
    }

    public RedisHealth health() {
        return health;
    }

    @Override
    public boolean shared() {
        return health.shared();
    }

    @Override
    public Replicas replicas() {
        if (config.replicas().isPresent()) {
            return new Replicas(config.replicas().getAsInt(), "config");
        }
        int learned = learnedReplicas;
        return learned > 0 ? new Replicas(learned, "learned") : Replicas.ONE;
    }

    @Override
    public long timeoutNanos() {
        return config.timeout().toNanos();
    }

    @Override
    public CompletableFuture<ConsumptionProbe> tryTake(byte[] key, BucketConfiguration bucket) {
        AsyncBucketProxy proxy = proxy(key, bucket);
        if (proxy == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("not connected"));
        }
        return proxy.tryConsumeAndReturnRemaining(1);
    }

    @Override
    public void giveBack(byte[] key, BucketConfiguration bucket) {
        AsyncBucketProxy proxy = proxy(key, bucket);
        if (proxy != null) {
            // Best effort: a token not given back is a request counted that was refused, stricter only.
            proxy.addTokens(1);
        }
    }

    /**
     * The key's bucket, one object per key while it is in use, with Bucket4j's batching: the
     * asks of one key that arrive while one is out are sent together as one compare-and-set.
     * Without it every request of a busy key is a compare-and-set of its own, and those of all
     * Sluices collide and retry: the latency of a hot key grows with its traffic until it is past
     * the timeout. So a Sluice has at most one ask of a key out at a time.
     */
    private AsyncBucketProxy proxy(byte[] key, BucketConfiguration bucket) {
        AsyncProxyManager<byte[]> manager = buckets;
        if (manager == null) {
            return null;
        }
        if (proxies.size() >= MOST_PROXIES) {
            // A bound, not a cache policy: dropping them all loses only the batching of asks in flight.
            proxies.clear();
        }
        return proxies.computeIfAbsent(ByteBuffer.wrap(key), k -> manager.builder()
                .withOptimization(Optimizations.batching())
                .build(key, () -> CompletableFuture.completedFuture(bucket)));
    }

    @Override
    public void failed(String why) {
        if (!closed && health.failed(clock.millis(), why)) {
            logFallback(why);
        }
    }

    /** The one line an outage logs as it begins. */
    private void logFallback(String why) {
        Replicas replicas = replicas();
        LOG.warn("redis {} did not answer ({}): global rate limits fall back to local buckets of rate/{} "
                + "(replicas: {}, {}) until it answers again", config.address(), why, replicas.count(),
                replicas.count(), replicas.from());
    }

    /** On {@code sluice-redis}: connect if never connected, bring Redis back when it answers in time, heartbeat. */
    private void probe() {
        try {
            if (connection == null) {
                String why = connect();
                if (why != null) {
                    if (health.unreachable(clock.millis(), why)) {
                        logFallback(why);
                    }
                    return;
                }
            }
            RedisAsyncCommands<byte[], byte[]> redis = connection.async();
            if (!health.shared()) {
                long started = System.nanoTime();
                redis.ping().toCompletableFuture().get(config.timeout().toNanos(), TimeUnit.NANOSECONDS);
                long fallbackMillis = clock.millis() - health.standing().sinceMillis();
                if (health.answered(clock.millis())) {
                    LOG.warn("redis {} answers again (PING in {} ms): global rate limits are shared again after {} s "
                            + "on local buckets", config.address(), (System.nanoTime() - started) / 1_000_000,
                            fallbackMillis / 1000);
                }
            }
            heartbeat(redis);
        } catch (TimeoutException | ExecutionException e) {
            // No traffic may have seen it yet: the probe says it, once, as an ask would.
            String why = e instanceof TimeoutException ? "no answer to the probe" : String.valueOf(e.getCause());
            if (health.unreachable(clock.millis(), why)) {
                logFallback(why);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.debug("redis {} probe failed", config.address(), e);
        }
    }

    /** This Sluice's heartbeat in the replicas' sorted set; the others' that are recent enough are counted. */
    private void heartbeat(RedisAsyncCommands<byte[], byte[]> redis)
            throws InterruptedException, ExecutionException, TimeoutException {
        long now = clock.millis();
        redis.zadd(REPLICAS_KEY, (double) now, replicaMember);
        redis.zremrangebyscore(REPLICAS_KEY, io.lettuce.core.Range.create(0d, (double) (now - REPLICA_LIVE_MILLIS)));
        redis.pexpire(REPLICAS_KEY, REPLICA_LIVE_MILLIS * 2);
        long live = redis.zcard(REPLICAS_KEY).toCompletableFuture().get(PROBE_MILLIS, TimeUnit.MILLISECONDS);
        learnedReplicas = (int) Math.max(1, Math.min(live, RedisConfig.MOST_REPLICAS));
    }

    /** Stops the probe, takes this Sluice out of the replicas, closes the connection. Idempotent. */
    @Override
    public void close() {
        closed = true;
        probe.shutdownNow();
        try {
            // A heartbeat being sent now would otherwise land after this Sluice leaves the replicas.
            probe.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        StatefulRedisConnection<byte[], byte[]> c = connection;
        if (c != null && c.isOpen()) {
            try {
                c.async().zrem(REPLICAS_KEY, replicaMember).toCompletableFuture().get(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                LOG.debug("redis {}: could not leave the replicas: {}", config.address(), e.toString());
            }
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        resources.shutdown(0, 1, TimeUnit.SECONDS);
    }
}
