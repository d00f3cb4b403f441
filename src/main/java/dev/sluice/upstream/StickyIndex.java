package dev.sluice.upstream;

import dev.sluice.config.StickyConfig;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a sticky cluster knows of one set of its endpoints: for a cookie, the value that names
 * each endpoint; for a hash, the Maglev table. Built with the set (at a reload or a DNS change,
 * never on a request), immutable, read by every event loop. {@link #NONE} for a cluster that is
 * not sticky.
 */
abstract sealed class StickyIndex {
    static final StickyIndex NONE = new None();
    /**
     * The cookie key of a config without {@code secret}: drawn once per process, so a restart
     * sends each client once more through the load balancer (and a fleet of Sluices needs a
     * {@code secret} they share).
     */
    private static final byte[] PROCESS_KEY = new byte[32];
    static {
        new SecureRandom().nextBytes(PROCESS_KEY);
    }

    /** 12 bytes of the HMAC (16 characters of base64url): no two endpoints of a cluster collide, nor can a client guess one. */
    private static final int COOKIE_BYTES = 12;

    /** The index of the endpoint this request sticks to that is eligible by {@code usable}, or -1. */
    abstract int pick(Affinity affinity, Eligibility usable);

    /** The {@code Set-Cookie} value that sends this client back to endpoint {@code index}, or null when it need not be set. */
    String setCookie(int index, Affinity affinity) {
        return null;
    }

    /** Which endpoints a pick may take right now (not tried, healthy or in panic mode, not ejected). */
    interface Eligibility {
        boolean test(int index);
    }

    static StickyIndex of(String cluster, StickyConfig config, Endpoint[] endpoints) {
        return switch (config) {
            case StickyConfig.Cookie cookie -> new CookieIndex(cluster, cookie, endpoints);
            case StickyConfig.Hash hash -> new HashIndex(endpoints);
        };
    }

    private static final class None extends StickyIndex {
        @Override
        int pick(Affinity affinity, Eligibility usable) {
            return -1;
        }
    }

    /** Each endpoint's cookie value: a keyed hash (HMAC-SHA256) of the cluster and the endpoint's {@link Endpoint#id()}. */
    static final class CookieIndex extends StickyIndex {
        private final StickyConfig.Cookie config;
        private final String[] values;
        private final Map<String, Integer> byValue = new HashMap<>();

        CookieIndex(String cluster, StickyConfig.Cookie config, Endpoint[] endpoints) {
            this.config = config;
            this.values = new String[endpoints.length];
            byte[] key = config.secret().map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(PROCESS_KEY);
            for (int i = 0; i < endpoints.length; i++) {
                values[i] = value(key, cluster, endpoints[i].id());
                byValue.put(values[i], i);
            }
        }

        static String value(byte[] key, String cluster, String endpointId) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key, "HmacSHA256"));
                byte[] digest = mac.doFinal((cluster + "\n" + endpointId).getBytes(StandardCharsets.UTF_8));
                return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(digest, COOKIE_BYTES));
            } catch (GeneralSecurityException e) {
                // Every JDK has HmacSHA256 (it is one of the algorithms the Java SE spec requires).
                throw new IllegalStateException(e);
            }
        }

        @Override
        int pick(Affinity affinity, Eligibility usable) {
            if (affinity instanceof Affinity.Cookie cookie) {
                Integer index = byValue.get(cookie.value());
                if (index != null && usable.test(index)) {
                    return index;
                }
            }
            return -1;
        }

        /** Set when the request's cookie names another endpoint, an unknown one, or none. */
        @Override
        String setCookie(int index, Affinity affinity) {
            String value = values[index];
            if (affinity instanceof Affinity.Cookie cookie && cookie.value().equals(value)) {
                return null;
            }
            DefaultCookie cookie = new DefaultCookie(config.name(), value);
            cookie.setPath(config.path());
            cookie.setHttpOnly(config.httpOnly());
            cookie.setSecure(config.secure());
            cookie.setSameSite(switch (config.sameSite()) {
                case STRICT -> CookieHeaderNames.SameSite.Strict;
                case LAX -> CookieHeaderNames.SameSite.Lax;
                case NONE -> CookieHeaderNames.SameSite.None;
            });
            config.ttl().ifPresent(ttl -> cookie.setMaxAge(ttl.toSeconds()));
            // Encoded per response (one per client session): Expires is "now + ttl".
            return ServerCookieEncoder.STRICT.encode(cookie);
        }

        String valueOf(int index) {
            return values[index];
        }
    }

    /**
     * The key's slot on the Maglev table, and when its endpoint cannot take the request, the next
     * slots in turn: so the keys of an endpoint that is down spread evenly over the others, and
     * each key's requests still go to one place until it is back.
     */
    static final class HashIndex extends StickyIndex {
        private final Maglev table;
        /** How far a pick walks on from a key's slot: past a few runs of each endpoint, then the balancer decides. */
        private final int walk;

        HashIndex(Endpoint[] endpoints) {
            String[] ids = new String[endpoints.length];
            int[] weights = new int[endpoints.length];
            for (int i = 0; i < endpoints.length; i++) {
                ids[i] = endpoints[i].id();
                weights[i] = endpoints[i].weight();
            }
            this.table = Maglev.build(ids, weights);
            this.walk = Math.min(table.size(), 16 * endpoints.length + 64);
        }

        @Override
        int pick(Affinity affinity, Eligibility usable) {
            if (affinity instanceof Affinity.Key key) {
                int slot = table.slot(key.hash());
                for (int k = 0; k < walk; k++) {
                    int index = table.endpointAt(slot + k);
                    if (index >= 0 && usable.test(index)) {
                        return index;
                    }
                }
            }
            return -1;
        }
    }
}
