package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.resilience.GlobalBuckets;
import dev.sluice.resilience.RedisBuckets;
import dev.sluice.resilience.RedisHealth;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RedisServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scope: global} across real processes: Sluices started as a user starts them, a real
 * {@code redis-server}, real sockets. One limit holds for the fleet; Redis killed, the fleet falls
 * back to local shares without an error and says so once; Redis back, the limit is global again;
 * Redis that answers nothing costs one request its timeout, once.
 */
class GlobalRateLimitTest {
    /** 50/s with a burst of 50, shared: what the fleet together may send. */
    private static final int RATE = 50;
    private static final int BURST = 50;
    /** Each client offers 100 req/s, so three offer six times the limit. */
    private static final Duration PACE = Duration.ofMillis(10);
    private static final String FALLBACK_LINE = "global rate limits fall back to local buckets";
    private static final String BACK_LINE = "global rate limits are shared again";

    @TempDir
    Path dir;

    /** One global rule on the route, shared through {@code redis}; {@code redisExtra}: more lines of the redis block. */
    private static String config(CountingBackend backend, RedisServer redis, String redisExtra) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: lease
                    match: { path_prefix: / }
                    cluster: app
                    rate_limits:
                      - { key: route, rate: %d/s, burst: %d, scope: global }
                clusters:
                  - name: app
                    endpoints: [%s]
                redis:
                  address: %s
                %s
                """.formatted(RATE, BURST, backend.address(), redis.address(), redisExtra);
    }

    private ChildSluice start(String name, CountingBackend backend, RedisServer redis, String redisExtra)
            throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, config(backend, redis, redisExtra) + """
                admin:
                  address: 127.0.0.1:0
                access_log: off
                drain: { delay: 0s, timeout: 2s }
                """);
        return ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", dir.resolve(name).toString());
    }

    /** Responses by status of one round of traffic, and how long it lasted from the first request to the last. */
    record Round(Map<Integer, Long> statuses, Duration took) {
        long count(int status) {
            return statuses.getOrDefault(status, 0L);
        }

        /** The most a limit of RATE/s and BURST lets through in this round. */
        double allowedByTheLimit() {
            return BURST + RATE * took.toNanos() / 1e9;
        }
    }

    /** One client per listener, each a request every {@link #PACE} on a keep-alive connection, for {@code length}. */
    private static Round traffic(List<InetSocketAddress> listeners, Duration length) throws InterruptedException {
        Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
        AtomicLong first = new AtomicLong(Long.MAX_VALUE);
        AtomicLong last = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        long start = System.nanoTime();
        for (InetSocketAddress listener : listeners) {
            clients.add(Thread.ofPlatform().start(() -> {
                RawHttpClient client = RawHttpClient.connect(listener);
                try {
                    for (long n = 0; ; n++) {
                        long due = start + n * PACE.toNanos();
                        if (due - start > length.toNanos()) {
                            break;
                        }
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                        long sent = System.nanoTime();
                        first.accumulateAndGet(sent, Math::min);
                        RawResponse response;
                        try {
                            response = client.send("GET /lease HTTP/1.1\r\nHost: sluice\r\n\r\n")
                                    .readResponse(Duration.ofSeconds(10));
                        } catch (RawHttpClient.PeerClosedException closed) {
                            client.close();
                            client = RawHttpClient.connect(listener);
                            response = client.send("GET /lease HTTP/1.1\r\nHost: sluice\r\n\r\n")
                                    .readResponse(Duration.ofSeconds(10));
                        }
                        last.accumulateAndGet(sent, Math::max);
                        statuses.computeIfAbsent(response.status(), s -> new LongAdder()).increment();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    client.close();
                }
            }));
        }
        for (Thread client : clients) {
            client.join();
        }
        Map<Integer, Long> counted = new TreeMap<>();
        statuses.forEach((status, n) -> counted.put(status, n.sum()));
        return new Round(counted, Duration.ofNanos(last.get() - first.get()));
    }

    private static long lines(ChildSluice sluice, String text) {
        return sluice.stderr().stream().filter(l -> l.contains(text)).count();
    }

    private static JsonNode redisStatus(ChildSluice sluice) {
        return sluice.admin().get("/status").json().path("redis");
    }

    @Test
    void threeSluicesHoldOneLimitFallBackWhenRedisDiesAndShareItAgainWhenItIsBack() throws Exception {
        try (RedisServer redis = RedisServer.start();
             CountingBackend backend = new CountingBackend("app");
             // 250 ms rather than the default 50 ms: three JVMs and the clients share two noisy cores
             // here, and a pause there would be a fallback that this test is not about.
             ChildSluice a = start("a", backend, redis, "  timeout: 250ms");
             ChildSluice b = start("b", backend, redis, "  timeout: 250ms");
             ChildSluice c = start("c", backend, redis, "  timeout: 250ms")) {
            List<ChildSluice> fleet = List.of(a, b, c);
            List<InetSocketAddress> listeners = new ArrayList<>();
            for (ChildSluice sluice : fleet) {
                // 60 s: three JVMs starting at once on two cores shared with the rest of the suite
                // took over 30 s once (a bound on the wait, not a figure the test is about).
                listeners.add(sluice.awaitStarted(Duration.ofSeconds(60)));
            }
            for (ChildSluice sluice : fleet) {
                Await.until(Duration.ofSeconds(10), () -> redisStatus(sluice).path("replicas").asInt() == 3,
                        () -> "three replicas learned: " + redisStatus(sluice));
                JsonNode status = redisStatus(sluice);
                assertThat(status.path("state").asText()).isEqualTo("shared");
                assertThat(status.path("replicas_from").asText()).isEqualTo("learned");
                assertThat(status.path("address").asText()).isEqualTo(redis.address());
            }

            // A first round warms the JVMs up: a request that takes a cold JVM half a second lets
            // the bucket's refill go to waste (a full bucket takes no more), which would read as
            // the limit letting too little through. Then a second for the bucket to fill again.
            traffic(listeners, Duration.ofSeconds(1));
            Thread.sleep(1_200);
            long backendBefore = backend.requests();

            // One limit for the fleet: about RATE/s + BURST in all, not three times that.
            Round shared = traffic(listeners, Duration.ofSeconds(3));
            System.out.printf("global, shared: %s in %d ms; the limit allows %.0f%n", shared.statuses(),
                    shared.took().toMillis(), shared.allowedByTheLimit());
            assertThat(shared.statuses().keySet()).containsOnly(200, 429);
            assertThat((double) shared.count(200)).as("allowed by the fleet, against %.0f", shared.allowedByTheLimit())
                    .isBetween(0.9 * shared.allowedByTheLimit(), 1.1 * shared.allowedByTheLimit());
            assertThat(backend.requests() - backendBefore).isEqualTo(shared.count(200));
            JsonNode rule = a.admin().get("/status").json().path("routes").get(0).path("rate_limits").get(0);
            assertThat(rule.path("scope").asText()).isEqualTo("global");
            assertThat(rule.path("refused").asLong()).isPositive();
            assertThat(a.admin().get("/metrics").body()).contains("sluice_redis_up 1.0")
                    .contains("sluice_rate_limit_refusals_total{mode=\"enforce\",route=\"lease\",rule=\"route\",scope=\"global\"}");

            // Redis killed mid-run: no 5xx, each Sluice says so once, and limits its own share.
            List<Long> fallbackLinesBefore = fleet.stream().map(s -> lines(s, FALLBACK_LINE)).toList();
            Round[] down = new Round[1];
            Thread load = Thread.ofPlatform().start(() -> {
                try {
                    down[0] = traffic(listeners, Duration.ofSeconds(2));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Thread.sleep(500);
            redis.kill();
            load.join();
            System.out.printf("global, redis killed after 0.5 s: %s in %d ms%n", down[0].statuses(),
                    down[0].took().toMillis());
            assertThat(down[0].statuses().keySet()).as("only 200s and 429s").isSubsetOf(200, 429);
            assertThat(down[0].count(200)).as("local shares of the rate, not unlimited")
                    .isLessThan((long) (1.5 * (down[0].allowedByTheLimit() + BURST)));
            for (int i = 0; i < fleet.size(); i++) {
                ChildSluice sluice = fleet.get(i);
                assertThat(lines(sluice, FALLBACK_LINE) - fallbackLinesBefore.get(i)).as("one log line")
                        .isEqualTo(1);
                JsonNode status = redisStatus(sluice);
                assertThat(status.path("state").asText()).isEqualTo("fallback");
                assertThat(status.path("replicas").asInt()).as("the count learned before Redis went").isEqualTo(3);
                assertThat(sluice.admin().get("/metrics").body()).contains("sluice_redis_up 0.0");
            }

            // Redis back on its port: shared again, and the limit is the fleet's again.
            List<Long> backLinesBefore = fleet.stream().map(s -> lines(s, BACK_LINE)).toList();
            redis.startAgain();
            for (int i = 0; i < fleet.size(); i++) {
                ChildSluice sluice = fleet.get(i);
                Await.until(Duration.ofSeconds(15), () -> redisStatus(sluice).path("state").asText().equals("shared"),
                        () -> "shared again: " + redisStatus(sluice));
                assertThat(lines(sluice, BACK_LINE) - backLinesBefore.get(i)).as("one log line").isEqualTo(1);
            }
            Round again = traffic(listeners, Duration.ofSeconds(2));
            System.out.printf("global, redis back: %s in %d ms; the limit allows %.0f%n", again.statuses(),
                    again.took().toMillis(), again.allowedByTheLimit());
            for (ChildSluice sluice : fleet) {
                System.out.println("redis log lines: " + sluice.stderr().stream().filter(l -> l.contains("redis")).toList());
            }
            assertThat(again.statuses().keySet()).containsOnly(200, 429);
            assertThat((double) again.count(200)).as("allowed by the fleet, against %.0f", again.allowedByTheLimit())
                    .isBetween(0.9 * again.allowedByTheLimit(), 1.1 * again.allowedByTheLimit());
        }
    }

    /** In this JVM rather than a child process: the start of another JVM is most of what this would cost. */
    @Test
    void aRedisThatAnswersNothingCostsOneRequestItsTimeoutOnceThenEachIsDecidedAtOnce() throws Exception {
        try (RedisServer redis = RedisServer.start();
             CountingBackend backend = new CountingBackend("app");
             TestGateway gateway = TestGateway.fromYaml(config(backend, redis, "  timeout: 1s\n  replicas: 2"))) {
            RedisBuckets buckets = gateway.gateway().redis().orElseThrow();
            assertThat(buckets.shared()).isTrue();
            assertThat(buckets.replicas()).isEqualTo(new GlobalBuckets.Replicas(2, "config"));
            try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
                assertThat(get(client).status()).isEqualTo(200);
                redis.pause();
                // Sequential requests: the first waits for Redis up to its timeout (1 s), unless
                // the probe found it silent first; none after that waits at all.
                List<Long> millis = new ArrayList<>();
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    long started = System.nanoTime();
                    statuses.add(get(client).status());
                    millis.add((System.nanoTime() - started) / 1_000_000);
                }
                System.out.println("global, redis paused: request times in ms " + millis);
                assertThat(statuses).as("decided, never failed for want of Redis").allMatch(s -> s == 200 || s == 429);
                assertThat(millis.stream().filter(ms -> ms >= 900).count()).as("requests that waited out the timeout")
                        .isLessThanOrEqualTo(1);
                assertThat(millis).as("none waited past its timeout by much").allMatch(ms -> ms < 5_000);
                assertThat(buckets.health().standing().state()).isEqualTo(RedisHealth.State.FALLBACK);
                redis.resume();
                Await.until(Duration.ofSeconds(15), buckets::shared, "shared again after SIGCONT");
                assertThat(get(client).status()).isEqualTo(200);
            }
        }
    }

    private static RawResponse get(RawHttpClient client) {
        return client.send("GET /lease HTTP/1.1\r\nHost: sluice\r\n\r\n").readResponse(Duration.ofSeconds(10));
    }
}
