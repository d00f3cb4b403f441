package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.resilience.RedisBuckets;
import dev.sluice.testing.Await;
import dev.sluice.testing.RedisServer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The gateway's one Redis connection across reloads: kept when {@code redis:} is unchanged,
 * replaced (and the old one closed, taking its Sluice out of the replicas) when it changes,
 * closed when it goes, and with the gateway.
 */
class RedisReloadTest {

    private static SluiceConfig config(RedisServer redis, String redisBlock, String scope) throws Exception {
        return ConfigLoader.parse("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: lease
                    match: { path_prefix: / }
                    cluster: app
                    rate_limits:
                      - { key: client, rate: 10/s, scope: %s }
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9]
                %s
                """.formatted(scope, redisBlock.formatted(redis.address())), "test.yaml");
    }

    @Test
    void anUnchangedRedisKeepsItsConnectionAChangedOneIsReplacedAndOneTakenOutIsClosed() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            Gateway gateway = new Gateway(config(redis, "redis: { address: %s }", "global"),
                    dev.sluice.observe.AccessLog.DISABLED, java.time.Clock.systemUTC(), System::nanoTime);
            try {
                RedisBuckets first = gateway.redis().orElseThrow();
                assertThat(first.shared()).isTrue();
                Await.until(Duration.ofSeconds(5), () -> redis.command("ZCARD sluice:replicas").equals(":1"),
                        "the gateway's heartbeat");

                gateway.apply(config(redis, "redis: { address: %s }", "local"));
                assertThat(gateway.redis()).as("redis: unchanged").containsSame(first);

                gateway.apply(config(redis, "redis: { address: %s, timeout: 80ms }", "global"));
                RedisBuckets second = gateway.redis().orElseThrow();
                assertThat(second).isNotSameAs(first);
                assertThat(second.config().timeout()).isEqualTo(Duration.ofMillis(80));
                Await.until(Duration.ofSeconds(5), () -> second.replicas().count() == 1
                                && redis.command("ZCARD sluice:replicas").equals(":1"),
                        "the old connection's heartbeat gone, the new one's there");

                gateway.apply(config(redis, "", "local"));
                assertThat(gateway.redis()).isEmpty();
                Await.until(Duration.ofSeconds(5), () -> redis.command("ZCARD sluice:replicas").equals(":0"),
                        "no heartbeat left");
            } finally {
                gateway.close();
            }
        }
    }
}
