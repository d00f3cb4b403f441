package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.failure.ReplyFields;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A route's rate limits driven with hand-made time: what each client may send, and what it is told when it may not. */
class RateLimitsTest {
    private static final long SECOND = 1_000_000_000L;
    private long now = 42 * SECOND;

    private static RateLimitConfig rule(String name, Key key, String rate, long burst, int maxInFlight, Mode mode) {
        Optional<Rate> r = rate == null ? Optional.empty() : Optional.of(switch (rate.substring(rate.indexOf('/') + 1)) {
            case "s" -> new Rate(Long.parseLong(rate.substring(0, rate.indexOf('/'))), Duration.ofSeconds(1));
            case "m" -> new Rate(Long.parseLong(rate.substring(0, rate.indexOf('/'))), Duration.ofMinutes(1));
            default -> throw new IllegalArgumentException(rate);
        });
        return new RateLimitConfig(name, key, r, burst, maxInFlight, mode, key instanceof Key.Route ? 1 : 1024);
    }

    private RateLimits limits(RateLimitConfig... rules) {
        return RateLimits.of(List.of(rules), null, () -> now);
    }

    /** A request from {@code client} with these header fields. */
    private static RateLimits.Keys from(String client, String... fields) {
        Map<String, String> headers = new HashMap<>();
        for (int i = 0; i < fields.length; i += 2) {
            headers.put(fields[i], fields[i + 1]);
        }
        return new RateLimits.Keys() {
            @Override
            public String client() {
                return client;
            }

            @Override
            public String header(CharSequence name) {
                return headers.get(name.toString());
            }
        };
    }

    private static boolean allowed(RateLimits.Outcome outcome) {
        return outcome instanceof RateLimits.Outcome.Allowed;
    }

    private static ReplyFields refusal(RateLimits.Outcome outcome) {
        assertThat(outcome).isInstanceOf(RateLimits.Outcome.Refused.class);
        return ((RateLimits.Outcome.Refused) outcome).fields();
    }

    private int allowedOf(int requests, RateLimits limits, RateLimits.Keys request) {
        int allowed = 0;
        for (int i = 0; i < requests; i++) {
            allowed += allowed(limits.admit(request)) ? 1 : 0;
        }
        return allowed;
    }

    @Test
    void aClientMaySendItsBurstAtOnceThenOneRequestPerRefillAndOthersAreNotTouched() {
        RateLimits limits = limits(rule("client", new Key.Client(), "20/s", 40, 0, Mode.ENFORCE));
        assertThat(allowedOf(100, limits, from("192.0.2.1"))).isEqualTo(40);
        assertThat(allowedOf(100, limits, from("192.0.2.2"))).as("another client's bucket").isEqualTo(40);
        now += SECOND / 20;
        assertThat(allowedOf(10, limits, from("192.0.2.1"))).as("20/s: one token every 50 ms").isEqualTo(1);
        now += SECOND;
        assertThat(allowedOf(100, limits, from("192.0.2.1"))).isEqualTo(20);
        assertThat(limits.rules().get(0).refused()).isEqualTo(60 + 60 + 9 + 80);
    }

    @Test
    void aRefusalTellsWhenATokenComesAndTheRoutesPolicyInTheDraftsSyntax() {
        RateLimits limits = limits(
                rule("client", new Key.Client(), "20/s", 40, 4, Mode.ENFORCE),
                rule("key", new Key.Header("x-api-key"), "600/m", 600, 0, Mode.ENFORCE),
                rule("everyone", new Key.Route(), "2000/s", 2000, 0, Mode.SHADOW));
        for (int i = 0; i < 40; i++) {
            ((RateLimits.Outcome.Allowed) limits.admit(from("192.0.2.1"))).release().release();
        }
        ReplyFields fields = refusal(limits.admit(from("192.0.2.1")));
        assertThat(fields.get(AsciiString.of("retry-after"))).as("50 ms to the next token, rounded up").isEqualTo("1");
        assertThat(fields.get(AsciiString.of("ratelimit-policy"))).isEqualTo(
                "\"client\";q=20;w=1;sluice-burst=40, \"client-in-flight\";q=4;qu=\"concurrent-requests\", "
                        + "\"key\";q=600;w=60");
        assertThat(fields.get(AsciiString.of("ratelimit"))).isEqualTo("\"client\";r=0;t=1");
    }

    @Test
    void retryAfterIsTheWholeSecondsUntilATokenRoundedUp() {
        RateLimits limits = limits(rule("key", new Key.Header("x-api-key"), "6/m", 2, 0, Mode.ENFORCE));
        RateLimits.Keys request = from("192.0.2.1", "x-api-key", "k1");
        assertThat(allowedOf(2, limits, request)).isEqualTo(2);
        ReplyFields fields = refusal(limits.admit(request));
        assertThat(fields.get(AsciiString.of("retry-after"))).as("one token every 10 s").isEqualTo("10");
        assertThat(fields.get(AsciiString.of("ratelimit"))).isEqualTo("\"key\";r=0;t=10");
        now += 2_500_000_000L;
        assertThat(refusal(limits.admit(request)).get(AsciiString.of("retry-after"))).as("7.5 s").isEqualTo("8");
        now += 7_500_000_000L;
        assertThat(allowed(limits.admit(request))).isTrue();
    }

    @Test
    void maxInFlightRefusesTheFifthAtOnceAndAnEndedRequestMakesRoom() {
        RateLimits limits = limits(rule("client", new Key.Client(), null, 0, 4, Mode.ENFORCE));
        List<RateLimits.Release> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(((RateLimits.Outcome.Allowed) limits.admit(from("192.0.2.1"))).release());
        }
        ReplyFields fields = refusal(limits.admit(from("192.0.2.1")));
        assertThat(fields.get(AsciiString.of("ratelimit"))).isEqualTo("\"client-in-flight\";r=0");
        assertThat(fields.get(AsciiString.of("retry-after"))).as("the kind's own").isNull();
        assertThat(allowed(limits.admit(from("192.0.2.9")))).as("another client").isTrue();
        held.remove(0).release();
        assertThat(allowed(limits.admit(from("192.0.2.1")))).isTrue();
    }

    @Test
    void aRequestALaterRuleRefusesCostsTheEarlierRulesNothing() {
        RateLimits limits = limits(
                rule("client", new Key.Client(), "10/s", 10, 2, Mode.ENFORCE),
                rule("everyone", new Key.Route(), "1/s", 1, 0, Mode.ENFORCE));
        assertThat(allowed(limits.admit(from("192.0.2.1")))).isTrue();
        for (int i = 0; i < 20; i++) {
            assertThat(refusal(limits.admit(from("192.0.2.1"))).get(AsciiString.of("ratelimit")))
                    .startsWith("\"everyone\"");
        }
        // Twenty refusals took neither tokens nor in-flight places of the client rule: only the first request's.
        RateLimiter.KeyState state = limits.rules().get(0).stateOf("192.0.2.1");
        assertThat(state.inFlight()).isEqualTo(1);
        assertThat(state.tryTake().getRemainingTokens()).isEqualTo(8);
    }

    @Test
    void aShadowRuleCountsWhatItWouldRefuseAndRefusesNothing() {
        RateLimits limits = limits(rule("everyone", new Key.Route(), "5/s", 5, 2, Mode.SHADOW));
        List<RateLimits.Release> held = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            RateLimits.Outcome outcome = limits.admit(from("192.0.2." + i));
            assertThat(allowed(outcome)).isTrue();
            held.add(((RateLimits.Outcome.Allowed) outcome).release());
        }
        RateLimiter rule = limits.rules().get(0);
        // From the third on, over two in flight (from the sixth also over the rate): ten, each counted once.
        assertThat(rule.shadowRefused()).isEqualTo(10);
        assertThat(rule.refused()).isZero();
        held.forEach(RateLimits.Release::release);
        assertThat(rule.stateOf("").inFlight()).isZero();
    }

    @Test
    void shadowRulesSeeOnlyWhatTheEnforcedRulesLetThrough() {
        RateLimits limits = limits(
                rule("everyone", new Key.Route(), "1/s", 1, 0, Mode.SHADOW),
                rule("client", new Key.Client(), "1/s", 1, 0, Mode.ENFORCE));
        assertThat(allowedOf(5, limits, from("192.0.2.1"))).isEqualTo(1);
        assertThat(limits.rules().get(1).shadowRefused()).as("the four refused were never asked").isZero();
        assertThat(allowedOf(1, limits, from("192.0.2.2"))).isEqualTo(1);
        assertThat(limits.rules().get(1).shadowRefused()).isEqualTo(1);
    }

    @Test
    void requestsWithoutTheHeaderShareOneBucketSoLeavingItOutIsNoWayAround() {
        RateLimits limits = limits(rule("key", new Key.Header("x-api-key"), "3/s", 3, 0, Mode.ENFORCE));
        assertThat(allowedOf(10, limits, from("192.0.2.1"))).isEqualTo(3);
        assertThat(allowedOf(10, limits, from("192.0.2.2"))).as("another client without a key").isZero();
        assertThat(allowedOf(10, limits, from("192.0.2.2", "x-api-key", "k2"))).isEqualTo(3);
    }

    @Test
    void aReloadKeepsAnUnchangedRulesBucketsAndStartsAChangedOneAfresh() {
        RateLimitConfig perClient = rule("client", new Key.Client(), "1/m", 2, 0, Mode.ENFORCE);
        RateLimitConfig perKey = rule("key", new Key.Header("k"), "1/m", 2, 0, Mode.ENFORCE);
        RateLimits before = limits(perClient, perKey);
        assertThat(allowedOf(5, before, from("192.0.2.1", "k", "a"))).isEqualTo(2);
        RateLimitConfig perKeyChanged = rule("key", new Key.Header("k"), "1/m", 3, 0, Mode.ENFORCE);
        RateLimits after = RateLimits.of(List.of(perClient, perKeyChanged), before, () -> now);
        assertThat(after.rules().get(0)).isSameAs(before.rules().get(0));
        assertThat(after.rules().get(1)).isNotSameAs(before.rules().get(1));
        assertThat(allowed(after.admit(from("192.0.2.1", "k", "a")))).as("the client's bucket is still empty").isFalse();
    }

    @Test
    void aRouteWithoutRulesAllowsEverythingAndHoldsNothing() {
        RateLimits none = RateLimits.of(List.of(), null, () -> now);
        assertThat(none).isSameAs(RateLimits.NONE);
        assertThat(none.admit(from("192.0.2.1"))).isEqualTo(new RateLimits.Outcome.Allowed(RateLimits.Release.NONE));
    }
}
