package dev.sluice.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Session affinity for a cluster ({@code clusters[].sticky}): the requests of one client keep
 * going to the same endpoint while it is usable. Either Sluice names the endpoint in a cookie it
 * sets ({@link Cookie}), or a request's key (the client's address, a header) is hashed onto the
 * endpoints ({@link Hash}, consistent hashing: adding or removing an endpoint moves only the keys
 * that must move). Without it the cluster's load balancer decides every request on its own.
 */
public sealed interface StickyConfig {

    /**
     * The endpoint named in a cookie Sluice sets on the first response (and again whenever the
     * request went elsewhere). Its value is a keyed hash of the endpoint (HMAC-SHA256 with
     * {@code secret}), never its address.
     *
     * @param name the cookie's name
     * @param ttl its {@code Max-Age}; empty for a session cookie (gone when the browser closes)
     * @param secret the HMAC key; empty for one drawn at random when the Sluice process starts
     */
    record Cookie(String name, Optional<Duration> ttl, String path, boolean httpOnly, boolean secure,
                  SameSite sameSite, Optional<String> secret) implements StickyConfig {
        /** "/": the whole site, so every route to the cluster sees the cookie. */
        public static final String DEFAULT_PATH = "/";
        /** Lax: the browsers' own default, and what a routing cookie needs (sent on top-level navigation). */
        public static final SameSite DEFAULT_SAME_SITE = SameSite.LAX;
        /** 16 characters: a shorter key could be found by brute force from a handful of cookies. */
        public static final int MIN_SECRET_LENGTH = 16;

        public Cookie {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(ttl, "ttl");
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(sameSite, "sameSite");
            Objects.requireNonNull(secret, "secret");
            // The binder reports this at its line; here it guards records built in code.
            if (sameSite == SameSite.NONE && !secure) {
                throw new IllegalArgumentException("SameSite=None needs Secure");
            }
        }

        /** {@code sluice_<cluster>}: one cookie per sticky cluster, so two clusters of one site never overwrite each other's. */
        public static String defaultName(String cluster) {
            return "sluice_" + cluster;
        }

        /** The defaults: a session cookie on {@code /}, HttpOnly, not Secure (Sluice serves plain HTTP), SameSite=Lax. */
        public static Cookie named(String name) {
            return new Cookie(name, Optional.empty(), DEFAULT_PATH, true, false, DEFAULT_SAME_SITE, Optional.empty());
        }

        /** The secret stays out of logs and assertion messages. */
        @Override
        public String toString() {
            return "Cookie[name=" + name + ", ttl=" + ttl + ", path=" + path + ", httpOnly=" + httpOnly + ", secure="
                    + secure + ", sameSite=" + sameSite + ", secret=" + (secret.isPresent() ? "(set)" : "(random)") + "]";
        }
    }

    /** The endpoint a request's key hashes to, on a Maglev table of the cluster's endpoints. */
    record Hash(HashSource source) implements StickyConfig {
        public Hash {
            Objects.requireNonNull(source, "source");
        }
    }

    /** What a request is hashed by. */
    sealed interface HashSource {
        /** As written in the config. */
        String text();

        /** The client's address: the peer's, or the one a trusted proxy's {@code X-Forwarded-For} names. */
        record Client() implements HashSource {
            @Override
            public String text() {
                return "client";
            }
        }

        /** A request header's value; {@code name} is lower case. A request without it is balanced as usual. */
        record Header(String name) implements HashSource {
            @Override
            public String text() {
                return "header:" + name;
            }
        }
    }

    /** The cookie's {@code SameSite} attribute (RFC 6265bis §4.1.2.7). */
    enum SameSite {
        STRICT, LAX, NONE;

        /** As written in the config and in the cookie: {@code Strict}, {@code Lax}, {@code None}. */
        public String attribute() {
            String lower = name().toLowerCase(Locale.ROOT);
            return Character.toUpperCase(lower.charAt(0)) + lower.substring(1);
        }
    }
}
