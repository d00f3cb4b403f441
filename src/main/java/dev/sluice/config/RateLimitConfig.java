package dev.sluice.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One of a route's rate limits ({@code routes[].rate_limits[]}): the requests of each key (a
 * client, a header's value, or the whole route) are held to a token-bucket rate, a number in
 * flight at once, or both. Over either, the request gets 429 {@code rate_limited} at once and
 * never reaches the cluster. It guards against the lease outage: one CI job retried a lease
 * endpoint in a tight loop, and everyone who shared its database starved.
 *
 * <p>Each Sluice counts on its own ({@code scope: local}), or every Sluice that uses the same
 * {@code redis:} counts together ({@code scope: global}: the rate only; see {@link Scope#GLOBAL}).
 *
 * @param name the rule's name in metrics and in the {@code RateLimit} fields; by default the key
 *     as written ({@code client}, {@code header:x-api-key}, {@code route})
 * @param key what requests are counted by
 * @param rate how fast a key's bucket refills; empty for a rule with only {@code maxInFlight}
 * @param burst how many requests a key may send at once: the bucket's size (0 without a rate)
 * @param maxInFlight how many requests of one key may be in flight at once; 0 for no such limit
 * @param mode {@code enforce}, or {@code shadow}: count what would be refused, refuse nothing
 * @param maxKeys how many keys are counted apart; beyond them keys share state (stricter, never
 *     looser). 1 for the {@code route} key, which is one key.
 * @param scope whether each Sluice counts on its own or the fleet counts together through Redis
 */
public record RateLimitConfig(String name, Key key, Optional<Rate> rate, long burst, int maxInFlight, Mode mode,
                              int maxKeys, Scope scope) {

    /** 16,384 keys: every client (or API key) active within a bucket's refill time counted apart
     * on a busy route (for 20/s with a burst of 40, 16,384 clients sending within 2 s of each
     * other), at a bounded cost: at most 300 bytes a key, 4.7 MiB for a rule, whatever the number
     * of distinct keys thrown at it (RateLimiterMemoryTest measures it). */
    public static final int DEFAULT_MAX_KEYS = 16_384;
    /** 2^24 keys, ~4 GiB at worst: a bound on the memory one typo can ask for. */
    public static final int MOST_KEYS = 1 << 24;
    /** A billion: a rate or burst above it limits nothing a proxy could serve. */
    public static final long MOST_TOKENS = 1_000_000_000L;

    public RateLimitConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(rate, "rate");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(scope, "scope");
        // The binder reports these at their line; here they guard records built in code.
        if (rate.isEmpty() && maxInFlight == 0) {
            throw new IllegalArgumentException("rate limit '" + name + "' needs a rate, a max_in_flight, or both");
        }
        if (rate.isPresent() != burst > 0 || burst > MOST_TOKENS || maxInFlight < 0) {
            throw new IllegalArgumentException("rate limit '" + name + "': burst " + burst + " must be from 1 to "
                    + MOST_TOKENS + " with a rate (0 without), and max_in_flight " + maxInFlight + " 0 or more");
        }
        if (maxKeys < 1 || maxKeys > MOST_KEYS || key instanceof Key.Route && maxKeys != 1) {
            throw new IllegalArgumentException("rate limit '" + name + "': max_keys " + maxKeys
                    + " must be from 1 to " + MOST_KEYS + " (1 for the route key)");
        }
        if (scope == Scope.GLOBAL && (rate.isEmpty() || maxInFlight > 0)) {
            throw new IllegalArgumentException("rate limit '" + name + "': a global rule limits a rate, never requests "
                    + "in flight");
        }
    }

    /** A rule of one Sluice ({@code scope: local}). */
    public RateLimitConfig(String name, Key key, Optional<Rate> rate, long burst, int maxInFlight, Mode mode,
                           int maxKeys) {
        this(name, key, rate, burst, maxInFlight, mode, maxKeys, Scope.LOCAL);
    }

    /** This rule, counted by the whole fleet through Redis. */
    public RateLimitConfig global() {
        return new RateLimitConfig(name, key, rate, burst, maxInFlight, mode, maxKeys, Scope.GLOBAL);
    }

    /** A rate with its burst at the rate's own count (the default), and no in-flight limit. */
    public static RateLimitConfig of(Key key, Rate rate) {
        return new RateLimitConfig(key.text(), key, Optional.of(rate), rate.tokens(), 0, Mode.ENFORCE,
                key instanceof Key.Route ? 1 : DEFAULT_MAX_KEYS);
    }

    /**
     * This global rule's share when {@code replicas} Sluices each count on their own (Redis
     * down): its rate over {@code replicas} times the period, its burst divided and rounded up
     * (at least 1), local.
     */
    public RateLimitConfig dividedAmong(int replicas) {
        Rate whole = rate.orElseThrow();
        Rate share = new Rate(whole.tokens(), whole.period().multipliedBy(replicas));
        long shareBurst = Math.max(1, (burst + replicas - 1) / replicas);
        return new RateLimitConfig(name, key, Optional.of(share), shareBurst, 0, mode, maxKeys, Scope.LOCAL);
    }

    /** What requests are counted by. */
    public sealed interface Key {
        /** The key as written in the config. */
        String text();

        /** The client's address: the peer's, or from {@code X-Forwarded-For} when the peer is a trusted proxy. */
        record Client() implements Key {
            @Override
            public String text() {
                return "client";
            }
        }

        /** A request header's value, such as an API key. {@code name} is lower case. */
        record Header(String name) implements Key {
            @Override
            public String text() {
                return "header:" + name;
            }
        }

        /** Every request of the route together. */
        record Route() implements Key {
            @Override
            public String text() {
                return "route";
            }
        }
    }

    /**
     * A token bucket's refill: {@code tokens} every {@code period} (a second, a minute or an
     * hour), added smoothly (20/s is one token every 50 ms), not all at once at the period's end.
     */
    public record Rate(long tokens, Duration period) {
        public Rate {
            if (tokens < 1 || tokens > MOST_TOKENS || !period.isPositive()) {
                throw new IllegalArgumentException("rate " + tokens + " per " + period + " is not a rate");
            }
        }

        /** As written: {@code 20/s}, {@code 600/m}, {@code 1000/h}. */
        public String text() {
            long seconds = period.toSeconds();
            return tokens + "/" + (seconds == 3600 ? "h" : seconds == 60 ? "m" : seconds == 1 ? "s" : seconds + "s");
        }
    }

    public enum Scope {
        /** Each Sluice counts its own requests. */
        LOCAL,
        /**
         * Every Sluice sharing the {@code redis:} counts into one bucket per key, kept in Redis. A
         * rate only: requests in flight are counted where they are held, in each Sluice (a count
         * in Redis would be left high by every Sluice that stops without giving its places back),
         * so {@code max_in_flight} goes in a rule of its own, local, as in Envoy, whose global
         * limit is a rate too.
         */
        GLOBAL
    }

    public enum Mode {
        /** Requests over the limit get 429. */
        ENFORCE,
        /** Requests over the limit are counted and go on: a limit can be tried on real traffic first. */
        SHADOW
    }
}
