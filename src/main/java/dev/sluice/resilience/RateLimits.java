package dev.sluice.resilience;

import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.failure.ReplyFields;
import io.github.bucket4j.ConsumptionProbe;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * <p>Global rules ({@code scope: global}) count in {@link GlobalBuckets} (Redis), after the local
 * ones: a request this Sluice refuses on its own never costs a trip to Redis. Their answer comes
 * later ({@link Outcome.Pending}), all of them asked at once; a rule Redis does not answer within
 * its timeout, or while it is down, is decided by a local bucket of its rate divided among the
 * replicas.
 *
 * <p>Called on any event loop; the rules' state is lock-free ({@link RateLimiter}), and a pending
 * answer is completed on whichever thread answers last.
 */
public final class RateLimits {
    /** No rules: nothing to check, nothing to hold. */
    public static final RateLimits NONE = new RateLimits(new RateLimiter[0]);

    static final AsciiString RATELIMIT_POLICY = AsciiString.cached("ratelimit-policy");
    static final AsciiString RATELIMIT = AsciiString.cached("ratelimit");
    private static final Outcome ALLOWED = new Outcome.Allowed(Release.NONE, List.of());

    /** Enforced rules first, in config order, then shadow rules. */
    private final RateLimiter[] rules;
    private final boolean anyInFlight;
    private final boolean anyGlobal;
    /** RateLimit-Policy: every enforced rule's quotas, the same on every refusal of the route. */
    private final String policy;

    private RateLimits(RateLimiter[] rules) {
        this.rules = rules;
        boolean inFlight = false;
        boolean global = false;
        List<String> items = new ArrayList<>();
        for (RateLimiter rule : rules) {
            RateLimitConfig c = rule.config();
            inFlight |= c.maxInFlight() > 0;
            global |= rule.global();
            if (c.mode() == RateLimitConfig.Mode.ENFORCE) {
                c.rate().ifPresent(rate -> items.add(quoted(c.name()) + ";q=" + rate.tokens() + ";w="
                        + rate.period().toSeconds() + (c.burst() == rate.tokens() ? "" : ";sluice-burst=" + c.burst())));
                if (c.maxInFlight() > 0) {
                    items.add(quoted(inFlightPolicy(c)) + ";q=" + c.maxInFlight() + ";qu=\"concurrent-requests\"");
                }
            }
        }
        this.anyInFlight = inFlight;
        this.anyGlobal = global;
        this.policy = String.join(", ", items);
    }

    /** As {@link #of(String, List, RateLimits, LongSupplier)} for a route without a name (tests). */
    public static RateLimits of(List<RateLimitConfig> configs, RateLimits previous, LongSupplier nanoClock) {
        return of("", configs, previous, nanoClock);
    }

    /**
     * The rules of {@code configs}, each kept from {@code previous} when it is there unchanged
     * (its keys' buckets and counts go on across a reload), else new.
     *
     * @param route the route's name: global rules' keys in Redis start with it
     * @param nanoClock the clock the buckets refill by
     */
    public static RateLimits of(String route, List<RateLimitConfig> configs, RateLimits previous,
                                LongSupplier nanoClock) {
        if (configs.isEmpty()) {
            return NONE;
        }
        List<RateLimiter> rules = new ArrayList<>();
        for (RateLimitConfig.Mode mode : RateLimitConfig.Mode.values()) {
            for (RateLimitConfig config : configs) {
                if (config.mode() == mode) {
                    rules.add(previous == null ? new RateLimiter(route, config, nanoClock)
                            : previous.kept(route, config, nanoClock));
                }
            }
        }
        return new RateLimits(rules.toArray(RateLimiter[]::new));
    }

    private RateLimiter kept(String route, RateLimitConfig config, LongSupplier nanoClock) {
        for (RateLimiter rule : rules) {
            if (rule.config().equals(config)) {
                return rule;
            }
        }
        return new RateLimiter(route, config, nanoClock);
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
        /**
         * It may go on; {@code release} is called once when it ends.
         *
         * @param shadowRefusedBy the shadow rules that would have refused it, in order (for the access log)
         */
        record Allowed(Release release, List<String> shadowRefusedBy) implements Outcome {
            public Allowed(Release release) {
                this(release, List.of());
            }
        }

        /** Over an enforced limit: 429 with these fields. */
        record Refused(ReplyFields fields) implements Outcome {}

        /**
         * Global rules asked Redis: the outcome ({@link Allowed} or {@link Refused}) completes when
         * every one has answered, on the thread of the last answer. Whoever waits calls
         * {@link #timedOut} after {@link #timeoutNanos}: what has not answered by then is decided
         * by local buckets, and Redis is taken as down.
         */
        final class Pending implements Outcome {
            private final Check check;
            private final CompletableFuture<Outcome> outcome;

            private Pending(Check check, CompletableFuture<Outcome> outcome) {
                this.check = check;
                this.outcome = outcome;
            }

            public CompletableFuture<Outcome> outcome() {
                return outcome;
            }

            /** How long to wait for Redis ({@code redis.timeout}). */
            public long timeoutNanos() {
                return check.global.timeoutNanos();
            }

            /** The wait ran out: the rules not answered yet are decided locally, now. */
            public void timedOut() {
                check.timedOut();
            }
        }
    }

    /** What an allowed request holds (its places in in-flight limits), given back when it ends. */
    public interface Release {
        void release();

        Release NONE = () -> { };
    }

    /** Checks and counts one request, with every global rule decided by a local bucket of its whole rate. */
    public Outcome admit(Keys request) {
        return admit(request, GlobalBuckets.NONE);
    }

    /** Checks and counts one request; global rules count in {@code global}, or locally while it is down. */
    public Outcome admit(Keys request, GlobalBuckets global) {
        if (rules.length == 0) {
            return ALLOWED;
        }
        Check check = new Check(request, global);
        for (int i = 0; i < rules.length; i++) {
            RateLimiter rule = rules[i];
            RateLimitConfig config = rule.config();
            if (config.mode() == RateLimitConfig.Mode.SHADOW || rule.global()) {
                continue;
            }
            RateLimiter.KeyState state = rule.stateOf(keyOf(config.key(), request));
            check.states[i] = state;
            int maxInFlight = config.maxInFlight();
            if (maxInFlight > 0 && !state.tryEnter(maxInFlight)) {
                return check.refused(i, inFlightRefusal(config));
            }
            if (state.limitsRate()) {
                ConsumptionProbe probe = state.tryTake();
                if (!probe.isConsumed()) {
                    if (maxInFlight > 0) {
                        state.exit();
                    }
                    return check.refused(i, rateRefusal(config, probe));
                }
            }
        }
        if (!anyGlobal) {
            return check.finish();
        }
        if (!global.shared()) {
            // Redis is down: no request waits for it, each is decided here at once.
            for (int i = 0; i < rules.length; i++) {
                if (rules[i].global()) {
                    check.answers[i] = new CompletableFuture<>();
                    check.decideLocally(i);
                }
            }
            return check.finish();
        }
        return check.ask();
    }

    /** A global rule's answer: from Redis ({@code state} null), or from a local fallback bucket. */
    private record Answer(ConsumptionProbe probe, RateLimiter.KeyState state, byte[] redisKey) {}

    /** One request's check across the rules: what each counted, so a refusal can give it back. */
    private final class Check {
        private final Keys request;
        private final GlobalBuckets global;
        /** The local rules' states this request counted on (by rule). */
        private final RateLimiter.KeyState[] states = new RateLimiter.KeyState[rules.length];
        /** The global rules' answers (by rule; null for local rules). */
        @SuppressWarnings("unchecked")
        private final CompletableFuture<Answer>[] answers = new CompletableFuture[rules.length];
        /** The global rules' keys, as read from the request (by rule). */
        private final String[] keys = new String[rules.length];

        Check(Keys request, GlobalBuckets global) {
            this.request = request;
            this.global = global;
        }

        private String key(int rule) {
            String key = keys[rule];
            if (key == null) {
                key = keyOf(rules[rule].config().key(), request);
                keys[rule] = key;
            }
            return key;
        }

        /** Every global rule asks Redis at once; the outcome when all have answered. */
        Outcome ask() {
            List<CompletableFuture<Answer>> asked = new ArrayList<>();
            for (int i = 0; i < rules.length; i++) {
                RateLimiter rule = rules[i];
                if (!rule.global()) {
                    continue;
                }
                CompletableFuture<Answer> answer = new CompletableFuture<>();
                answers[i] = answer;
                asked.add(answer);
                String key = key(i);
                byte[] redisKey = rule.redisKey(key);
                CompletableFuture<ConsumptionProbe> taken;
                try {
                    taken = global.tryTake(redisKey, rule.buckets());
                } catch (RuntimeException e) {
                    taken = CompletableFuture.failedFuture(e);
                }
                int at = i;
                taken.whenComplete((probe, error) -> {
                    if (error != null) {
                        global.failed(describe(error));
                        decideLocally(at);
                        return;
                    }
                    if (probe.isConsumed()) {
                        // The fallback bucket counts too, so a client that spent its share does not
                        // find a full one the moment Redis goes down.
                        rule.fallbackState(key, global.replicas().count()).tryTake();
                    }
                    answer.complete(new Answer(probe, null, redisKey));
                });
            }
            CompletableFuture<Outcome> outcome = CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new))
                    .thenApply(done -> finish());
            return new Outcome.Pending(this, outcome);
        }

        /** Rule {@code i}, global, is decided by its local fallback bucket, unless it has its answer already. */
        void decideLocally(int i) {
            CompletableFuture<Answer> answer = answers[i];
            if (answer.isDone()) {
                return;
            }
            RateLimiter.KeyState state = rules[i].fallbackState(key(i), global.replicas().count());
            answer.complete(new Answer(state.tryTake(), state, null));
        }

        void timedOut() {
            boolean waiting = false;
            for (CompletableFuture<Answer> answer : answers) {
                waiting |= answer != null && !answer.isDone();
            }
            if (!waiting) {
                return;
            }
            global.failed("no answer within " + global.timeoutNanos() / 1_000_000 + " ms");
            for (int i = 0; i < rules.length; i++) {
                if (answers[i] != null) {
                    decideLocally(i);
                }
            }
        }

        /** Every local enforced rule let the request through and every global one has answered. */
        Outcome finish() {
            for (int i = 0; i < rules.length; i++) {
                RateLimiter rule = rules[i];
                if (rule.global() && rule.config().mode() == RateLimitConfig.Mode.ENFORCE) {
                    ConsumptionProbe probe = answers[i].join().probe();
                    if (!probe.isConsumed()) {
                        return refused(i, rateRefusal(rule.config(), probe));
                    }
                }
            }
            List<String> shadowRefusedBy = List.of();
            for (int i = 0; i < rules.length; i++) {
                RateLimiter rule = rules[i];
                RateLimitConfig config = rule.config();
                if (config.mode() != RateLimitConfig.Mode.SHADOW) {
                    continue;
                }
                boolean wouldRefuse;
                if (rule.global()) {
                    wouldRefuse = !answers[i].join().probe().isConsumed();
                } else {
                    RateLimiter.KeyState state = rule.stateOf(key(i));
                    states[i] = state;
                    wouldRefuse = wouldRefuse(state, config);
                }
                if (wouldRefuse) {
                    rule.countRefusal();
                    shadowRefusedBy = with(shadowRefusedBy, rule.name());
                }
            }
            if (anyInFlight) {
                return new Outcome.Allowed(this::release, shadowRefusedBy);
            }
            return shadowRefusedBy.isEmpty() ? ALLOWED : new Outcome.Allowed(Release.NONE, shadowRefusedBy);
        }

        /** The request ends: its places in the in-flight limits go back. */
        private void release() {
            for (int i = 0; i < rules.length; i++) {
                if (rules[i].config().maxInFlight() > 0 && states[i] != null) {
                    states[i].exit();
                }
            }
        }

        /** Rule {@code refusing} refused: what the others counted for this request is given back. */
        Outcome refused(int refusing, ReplyFields fields) {
            rules[refusing].countRefusal();
            for (int i = 0; i < rules.length; i++) {
                if (i == refusing) {
                    continue;
                }
                RateLimitConfig config = rules[i].config();
                RateLimiter.KeyState state = states[i];
                if (state != null && config.mode() == RateLimitConfig.Mode.ENFORCE) {
                    if (config.maxInFlight() > 0) {
                        state.exit();
                    }
                    if (state.limitsRate()) {
                        state.giveBack();
                    }
                }
                CompletableFuture<Answer> answer = answers[i];
                if (answer != null && answer.isDone()) {
                    Answer a = answer.join();
                    if (a.probe().isConsumed()) {
                        if (a.state() != null) {
                            a.state().giveBack();
                        } else {
                            global.giveBack(a.redisKey(), rules[i].buckets());
                        }
                    }
                }
            }
            return new Outcome.Refused(fields);
        }
    }

    private static List<String> with(List<String> names, String name) {
        List<String> more = new ArrayList<>(names);
        more.add(name);
        return List.copyOf(more);
    }

    private static String describe(Throwable error) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
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
