package dev.sluice.resilience;

import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.failure.ReplyFields;
import io.github.bucket4j.ConsumptionProbe;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A route's rate limits, checked together for each request: the enforced rules in order, then
 * the shadow ones. A request over an enforced rule's rate or in-flight limit is refused at once
 * with what the client needs to back off ({@code Retry-After}, and the {@code RateLimit-Policy}
 * and {@code RateLimit} fields of draft-ietf-httpapi-ratelimit-headers); what earlier rules
 * counted for it is given back, so a refused request costs the client nothing but the refusal.
 * Shadow rules count what they would refuse and refuse nothing; they see only the requests the
 * enforced rules let through, so their count is what turning them on would add.
 *
 * <p>Called on any event loop; the rules' state is lock-free ({@link RateLimiter}).
 */
public final class RateLimits {
    /** No rules: nothing to check, nothing to hold. */
    public static final RateLimits NONE = new RateLimits(new RateLimiter[0]);

    static final AsciiString RATELIMIT_POLICY = AsciiString.cached("ratelimit-policy");
    static final AsciiString RATELIMIT = AsciiString.cached("ratelimit");
    private static final Outcome ALLOWED = new Outcome.Allowed(Release.NONE);

    /** Enforced rules first, in config order, then shadow rules. */
    private final RateLimiter[] rules;
    private final boolean anyInFlight;
    /** RateLimit-Policy: every enforced rule's quotas, the same on every refusal of the route. */
    private final String policy;

    private RateLimits(RateLimiter[] rules) {
        this.rules = rules;
        boolean inFlight = false;
        List<String> items = new ArrayList<>();
        for (RateLimiter rule : rules) {
            RateLimitConfig c = rule.config();
            inFlight |= c.maxInFlight() > 0;
            if (c.mode() == RateLimitConfig.Mode.ENFORCE) {
                c.rate().ifPresent(rate -> items.add(quoted(c.name()) + ";q=" + rate.tokens() + ";w="
                        + rate.period().toSeconds() + (c.burst() == rate.tokens() ? "" : ";sluice-burst=" + c.burst())));
                if (c.maxInFlight() > 0) {
                    items.add(quoted(inFlightPolicy(c)) + ";q=" + c.maxInFlight() + ";qu=\"concurrent-requests\"");
                }
            }
        }
        this.anyInFlight = inFlight;
        this.policy = String.join(", ", items);
    }

    /**
     * The rules of {@code configs}, each kept from {@code previous} when it is there unchanged
     * (its keys' buckets and counts go on across a reload), else new.
     *
     * @param nanoClock the clock the buckets refill by
     */
    public static RateLimits of(List<RateLimitConfig> configs, RateLimits previous, LongSupplier nanoClock) {
        if (configs.isEmpty()) {
            return NONE;
        }
        List<RateLimiter> rules = new ArrayList<>();
        for (RateLimitConfig.Mode mode : RateLimitConfig.Mode.values()) {
            for (RateLimitConfig config : configs) {
                if (config.mode() == mode) {
                    rules.add(previous == null ? new RateLimiter(config, nanoClock) : previous.kept(config, nanoClock));
                }
            }
        }
        return new RateLimits(rules.toArray(RateLimiter[]::new));
    }

    private RateLimiter kept(RateLimitConfig config, LongSupplier nanoClock) {
        for (RateLimiter rule : rules) {
            if (rule.config().equals(config)) {
                return rule;
            }
        }
        return new RateLimiter(config, nanoClock);
    }

    public boolean isEmpty() {
        return rules.length == 0;
    }

    public List<RateLimiter> rules() {
        return List.of(rules);
    }

    /** Where a request's keys come from; each is read only when a rule asks for it. */
    public interface Keys {
        /** The client's address: the peer's, or from {@code X-Forwarded-For} when the peer is a trusted proxy. */
        String client();

        /** The value of a request header field (the first, when repeated), or null. */
        String header(CharSequence name);
    }

    /** What the route's limits say about one request. */
    public sealed interface Outcome {
        /** It may go on; {@code release} is called once when it ends. */
        record Allowed(Release release) implements Outcome {}

        /** Over an enforced limit: 429 with these fields. */
        record Refused(ReplyFields fields) implements Outcome {}
    }

    /** What an allowed request holds (its places in in-flight limits), given back when it ends. */
    public interface Release {
        void release();

        Release NONE = () -> { };
    }

    /** Checks and counts one request. */
    public Outcome admit(Keys request) {
        if (rules.length == 0) {
            return ALLOWED;
        }
        RateLimiter.KeyState[] states = new RateLimiter.KeyState[rules.length];
        for (int i = 0; i < rules.length; i++) {
            RateLimiter rule = rules[i];
            RateLimitConfig config = rule.config();
            RateLimiter.KeyState state = rule.stateOf(keyOf(config.key(), request));
            states[i] = state;
            if (config.mode() == RateLimitConfig.Mode.SHADOW) {
                // Shadow rules come last: no refusal follows that would have to give their counts back.
                if (wouldRefuse(state, config)) {
                    rule.countRefusal();
                }
                continue;
            }
            int maxInFlight = config.maxInFlight();
            if (maxInFlight > 0 && !state.tryEnter(maxInFlight)) {
                return refused(rule, states, i, inFlightRefusal(config));
            }
            if (state.limitsRate()) {
                ConsumptionProbe probe = state.tryTake();
                if (!probe.isConsumed()) {
                    if (maxInFlight > 0) {
                        state.exit();
                    }
                    return refused(rule, states, i, rateRefusal(config, probe));
                }
            }
        }
        return anyInFlight ? new Outcome.Allowed(() -> release(states)) : ALLOWED;
    }

    /**
     * A shadow rule counts the request as an enforced one would (in flight whatever the count, a
     * token if there is one) and says whether it would have refused it.
     */
    private static boolean wouldRefuse(RateLimiter.KeyState state, RateLimitConfig config) {
        boolean overInFlight = config.maxInFlight() > 0 && state.enter(config.maxInFlight());
        boolean overRate = state.limitsRate() && !state.tryTake().isConsumed();
        return overInFlight || overRate;
    }

    /** The request ends: its places in the in-flight limits go back. */
    private void release(RateLimiter.KeyState[] states) {
        for (int i = 0; i < rules.length; i++) {
            if (rules[i].config().maxInFlight() > 0) {
                states[i].exit();
            }
        }
    }

    /** {@code rule} refused: what the rules before it counted for this request is given back. */
    private Outcome refused(RateLimiter rule, RateLimiter.KeyState[] states, int refusing, ReplyFields fields) {
        rule.countRefusal();
        for (int i = 0; i < refusing; i++) {
            RateLimitConfig config = rules[i].config();
            if (config.mode() == RateLimitConfig.Mode.ENFORCE) {
                if (config.maxInFlight() > 0) {
                    states[i].exit();
                }
                if (states[i].limitsRate()) {
                    states[i].giveBack();
                }
            }
        }
        return new Outcome.Refused(fields);
    }

    private static String keyOf(Key key, Keys request) {
        return switch (key) {
            case Key.Client client -> request.client();
            // Requests without the header share one key, "": leaving it out is never a way around the limit.
            case Key.Header header -> {
                String value = request.header(header.name());
                yield value == null ? "" : value;
            }
            case Key.Route route -> "";
        };
    }

    private ReplyFields rateRefusal(RateLimitConfig config, ConsumptionProbe probe) {
        // Whole seconds until a token, rounded up: a client that waits that long finds one.
        long seconds = Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
        return ReplyFields.NONE
                .with(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds))
                .with(RATELIMIT_POLICY, policy)
                .with(RATELIMIT, quoted(config.name()) + ";r=" + probe.getRemainingTokens() + ";t=" + seconds);
    }

    private ReplyFields inFlightRefusal(RateLimitConfig config) {
        return ReplyFields.NONE
                .with(RATELIMIT_POLICY, policy)
                .with(RATELIMIT, quoted(inFlightPolicy(config)) + ";r=0");
    }

    private static String inFlightPolicy(RateLimitConfig config) {
        return config.name() + "-in-flight";
    }

    /** An sf-string (RFC 9651 §3.3.3); rule names are printable ASCII without quotes or backslashes. */
    private static String quoted(String name) {
        return "\"" + name + "\"";
    }
}
