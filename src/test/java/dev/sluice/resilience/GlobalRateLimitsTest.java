package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.config.RateLimitConfig.Scope;
import dev.sluice.failure.ReplyFields;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.BucketListener;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.MathType;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.local.LockFreeBucket;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Global rules against a hand-made store and hand-made time: Redis's answer decides; a store that
 * fails or does not answer in time has local buckets of rate/replicas decide instead, at once from
 * then on, and is reported down once.
 */
class GlobalRateLimitsTest {
    private static final long SECOND = 1_000_000_000L;
    private long now = 42 * SECOND;
    private final FakeStore store = new FakeStore();

    /** How the fake store answers an ask. */
    enum Answering { AT_ONCE, NEVER, FAILING }

    /**
     * A store standing in for Redis: one Bucket4j bucket per key on the test's clock, answering at
     * once, never, or with an error; marked down by {@link #failed} as {@link RedisBuckets} is.
     */
    final class FakeStore implements GlobalBuckets {
        final Map<String, LockFreeBucket> buckets = new HashMap<>();
        final List<String> asked = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
        final List<CompletableFuture<ConsumptionProbe>> unanswered = new ArrayList<>();
        Answering answering = Answering.AT_ONCE;
        boolean shared = true;
        int replicas = 1;

        @Override
        public boolean shared() {
            return shared;
        }

        @Override
        public Replicas replicas() {
            return new Replicas(replicas, "config");
        }

        @Override
        public long timeoutNanos() {
            return 50_000_000L;
        }

        LockFreeBucket bucket(byte[] key, BucketConfiguration config) {
            return buckets.computeIfAbsent(new String(key, StandardCharsets.UTF_8), k -> new LockFreeBucket(config,
                    MathType.INTEGER_64_BITS, clock(), BucketListener.NOPE));
        }

        @Override
        public CompletableFuture<ConsumptionProbe> tryTake(byte[] key, BucketConfiguration config) {
            asked.add(new String(key, StandardCharsets.UTF_8));
            return switch (answering) {
                case AT_ONCE -> CompletableFuture.completedFuture(bucket(key, config).tryConsumeAndReturnRemaining(1));
                case NEVER -> {
                    CompletableFuture<ConsumptionProbe> later = new CompletableFuture<>();
                    unanswered.add(later);
                    yield later;
                }
                case FAILING -> CompletableFuture.failedFuture(new IllegalStateException("connection refused"));
            };
        }

        @Override
        public void giveBack(byte[] key, BucketConfiguration config) {
            bucket(key, config).addTokens(1);
        }

        @Override
        public void failed(String why) {
            failures.add(why);
            shared = false;
        }

        long available(String key) {
            return buckets.get(key).getAvailableTokens();
        }
    }

    private TimeMeter clock() {
        return new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return now;
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
    }

    private static RateLimitConfig global(String name, Key key, long perSecond, long burst, Mode mode) {
        return new RateLimitConfig(name, key, Optional.of(new Rate(perSecond, Duration.ofSeconds(1))), burst, 0, mode,
                key instanceof Key.Route ? 1 : 1024, Scope.GLOBAL);
    }

    private static RateLimitConfig local(String name, long perSecond, long burst, int maxInFlight) {
        return new RateLimitConfig(name, new Key.Client(), perSecond == 0 ? Optional.empty()
                : Optional.of(new Rate(perSecond, Duration.ofSeconds(1))), burst, maxInFlight, Mode.ENFORCE, 1024);
    }

    private RateLimits limits(RateLimitConfig... rules) {
        return RateLimits.of("lease", List.of(rules), null, () -> now);
    }

    private static RateLimits.Keys from(String client) {
        return new RateLimits.Keys() {
            @Override
            public String client() {
                return client;
            }

            @Override
            public String header(CharSequence name) {
                return null;
            }
        };
    }

    /** The outcome once every global rule has answered (they answer at once unless told otherwise). */
    private static RateLimits.Outcome decided(RateLimits.Outcome outcome) {
        if (outcome instanceof RateLimits.Outcome.Pending pending) {
            assertThat(pending.outcome()).as("answered").isDone();
            return pending.outcome().join();
        }
        return outcome;
    }

    private int allowedOf(int requests, RateLimits limits, String client) {
        int allowed = 0;
        for (int i = 0; i < requests; i++) {
            allowed += decided(limits.admit(from(client), store)) instanceof RateLimits.Outcome.Allowed ? 1 : 0;
        }
        return allowed;
    }

    @Test
    void aGlobalRuleAsksTheSharedBucketOfItsRouteRuleAndKeyAndItsAnswerDecides() {
        RateLimits limits = limits(global("api", new Key.Client(), 5, 5, Mode.ENFORCE));
        RateLimits.Outcome first = limits.admit(from("192.0.2.1"), store);
        assertThat(first).as("the answer comes later, even when it comes at once").isInstanceOf(RateLimits.Outcome.Pending.class);
        assertThat(decided(first)).isInstanceOf(RateLimits.Outcome.Allowed.class);
        assertThat(store.asked).as("route, rule, rate and burst, key").containsExactly("sluice:rl:lease:api:5/s:5:192.0.2.1");
        assertThat(allowedOf(9, limits, "192.0.2.1")).as("the rest of the burst of 5").isEqualTo(4);
        RateLimits.Outcome refused = decided(limits.admit(from("192.0.2.1"), store));
        ReplyFields fields = ((RateLimits.Outcome.Refused) refused).fields();
        assertThat(fields.get(AsciiString.of("retry-after"))).isEqualTo("1");
        assertThat(fields.get(AsciiString.of("ratelimit-policy"))).isEqualTo("\"api\";q=5;w=1");
        assertThat(fields.get(AsciiString.of("ratelimit"))).isEqualTo("\"api\";r=0;t=1");
        assertThat(limits.rules().get(0).refused()).isEqualTo(6);
        assertThat(store.failures).isEmpty();
    }

    @Test
    void localRulesDecideFirstSoARequestThisSluiceRefusesNeverAsksRedis() {
        RateLimits limits = limits(global("api", new Key.Route(), 100, 100, Mode.ENFORCE), local("client", 1, 1, 0));
        assertThat(allowedOf(1, limits, "192.0.2.1")).isEqualTo(1);
        RateLimits.Outcome refused = limits.admit(from("192.0.2.1"), store);
        assertThat(refused).as("refused at once").isInstanceOf(RateLimits.Outcome.Refused.class);
        assertThat(store.asked).hasSize(1);
        assertThat(store.available("sluice:rl:lease:api:100/s:100:")).isEqualTo(99);
    }

    @Test
    void aGlobalRefusalGivesBackWhatTheLocalRulesCountedForTheRequest() {
        RateLimits limits = limits(local("in-flight", 0, 0, 1), local("client", 10, 10, 0),
                global("api", new Key.Client(), 1, 1, Mode.ENFORCE));
        RateLimits.Outcome.Allowed first = (RateLimits.Outcome.Allowed) decided(limits.admit(from("192.0.2.1"), store));
        first.release().release();
        assertThat(decided(limits.admit(from("192.0.2.1"), store))).isInstanceOf(RateLimits.Outcome.Refused.class);
        RateLimiter.KeyState inFlight = limits.rules().get(0).stateOf("192.0.2.1");
        assertThat(inFlight.inFlight()).as("its place in flight given back").isZero();
        assertThat(limits.rules().get(1).stateOf("192.0.2.1").tryTake().getRemainingTokens())
                .as("its local token given back: 10 - 1 - this one").isEqualTo(8);
    }

    @Test
    void aRefusalByOneGlobalRuleGivesBackTheTokensTheOthersTookInRedis() {
        RateLimits limits = limits(global("route", new Key.Route(), 100, 100, Mode.ENFORCE),
                global("api", new Key.Client(), 1, 1, Mode.ENFORCE));
        assertThat(allowedOf(3, limits, "192.0.2.1")).isEqualTo(1);
        assertThat(store.available("sluice:rl:lease:route:100/s:100:")).as("only the allowed request's token").isEqualTo(99);
    }

    @Test
    void aStoreThatDoesNotAnswerInTimeHasTheLocalShareDecideAndIsReportedDownOnce() {
        store.replicas = 2;
        RateLimits limits = limits(global("api", new Key.Client(), 10, 10, Mode.ENFORCE));
        store.answering = Answering.NEVER;
        List<RateLimits.Outcome.Pending> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add((RateLimits.Outcome.Pending) limits.admit(from("192.0.2.1"), store));
        }
        assertThat(waiting).allSatisfy(p -> assertThat(p.outcome()).isNotDone());
        assertThat(waiting.get(0).timeoutNanos()).isEqualTo(50_000_000L);
        waiting.forEach(RateLimits.Outcome.Pending::timedOut);
        assertThat(waiting).allSatisfy(p -> assertThat(p.outcome().join()).isInstanceOf(RateLimits.Outcome.Allowed.class));
        assertThat(store.failures).as("each ask that ran out says so; the store logs the first")
                .containsOnly("no answer within 50 ms");
        assertThat(store.shared).isFalse();

        RateLimits.Outcome next = limits.admit(from("192.0.2.1"), store);
        assertThat(next).as("decided at once while down: no timeout paid again").isNotInstanceOf(RateLimits.Outcome.Pending.class);
        assertThat(store.asked).hasSize(3);
        assertThat(allowedOf(10, limits, "192.0.2.1")).as("burst 10 / 2 replicas = 5, 4 of them taken already")
                .isEqualTo(1);

        store.unanswered.forEach(late -> late.complete(null));
        assertThat(waiting).as("a late answer changes nothing").allSatisfy(p ->
                assertThat(p.outcome().join()).isInstanceOf(RateLimits.Outcome.Allowed.class));
    }

    @Test
    void whileDownEachReplicaLetsThroughItsShareOfTheRate() {
        store.shared = false;
        store.replicas = 3;
        RateLimits limits = limits(global("api", new Key.Route(), 30, 30, Mode.ENFORCE));
        assertThat(allowedOf(20, limits, "192.0.2.1")).as("burst 30 / 3").isEqualTo(10);
        now += SECOND;
        assertThat(allowedOf(20, limits, "192.0.2.1")).as("30/s / 3 for a second").isEqualTo(10);
        assertThat(store.asked).isEmpty();
        assertThat(store.failures).isEmpty();
    }

    @Test
    void anAskThatFailsIsDecidedLocallyAtOnce() {
        RateLimits limits = limits(global("api", new Key.Client(), 10, 10, Mode.ENFORCE));
        store.answering = Answering.FAILING;
        RateLimits.Outcome outcome = limits.admit(from("192.0.2.1"), store);
        assertThat(decided(outcome)).isInstanceOf(RateLimits.Outcome.Allowed.class);
        assertThat(store.failures).containsExactly("connection refused");
        assertThat(store.shared).isFalse();
    }

    @Test
    void whatRedisCountedCountsInTheFallbackSoAnOutageGivesNoFreshBurst() {
        store.replicas = 2;
        RateLimits limits = limits(global("api", new Key.Client(), 10, 10, Mode.ENFORCE));
        assertThat(allowedOf(10, limits, "192.0.2.1")).isEqualTo(10);
        store.shared = false;
        assertThat(allowedOf(5, limits, "192.0.2.1")).as("its local share was spent with it").isZero();
        assertThat(allowedOf(5, limits, "192.0.2.2")).as("another client's share is whole").isEqualTo(5);
    }

    @Test
    void aGlobalShadowRuleNamesItselfOnTheRequestsItWouldHaveRefused() {
        RateLimits limits = limits(global("api", new Key.Client(), 1, 1, Mode.SHADOW),
                local("client", 100, 100, 0));
        RateLimits.Outcome.Allowed first = (RateLimits.Outcome.Allowed) decided(limits.admit(from("192.0.2.1"), store));
        assertThat(first.shadowRefusedBy()).isEmpty();
        RateLimits.Outcome.Allowed second = (RateLimits.Outcome.Allowed) decided(limits.admit(from("192.0.2.1"), store));
        assertThat(second.shadowRefusedBy()).containsExactly("api");
        RateLimiter shadow = limits.rules().stream().filter(r -> r.name().equals("api")).findFirst().orElseThrow();
        assertThat(shadow.shadowRefused()).isEqualTo(1);
        assertThat(shadow.refused()).isZero();
    }

    @Test
    void aLocalShadowRuleNamesItselfToo() {
        RateLimits limits = RateLimits.of(List.of(new RateLimitConfig("route", new Key.Route(),
                Optional.of(new Rate(1, Duration.ofSeconds(1))), 1, 0, Mode.SHADOW, 1)), null, () -> now);
        assertThat(((RateLimits.Outcome.Allowed) limits.admit(from("192.0.2.1"))).shadowRefusedBy()).isEmpty();
        assertThat(((RateLimits.Outcome.Allowed) limits.admit(from("192.0.2.1"))).shadowRefusedBy())
                .containsExactly("route");
    }
}
