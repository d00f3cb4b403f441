package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.StickyConfig;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A sticky cluster's pick, without sockets: the cookie's or the key's endpoint while it can take the request. */
class StickyPickTest {
    private static final StickyConfig COOKIE = StickyConfig.Cookie.named("sticky");
    private static final StickyConfig BY_CLIENT = new StickyConfig.Hash(new StickyConfig.HashSource.Client());

    private static Cluster cluster(StickyConfig sticky, int n) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            endpoints.add(new Endpoint("c", "10.0.0." + (i + 1) + ":8080",
                    InetSocketAddress.createUnresolved("10.0.0." + (i + 1), 8080), Map.of(), 1, false, 0));
        }
        return new Cluster(ClusterConfig.of("c", List.<EndpointConfig>of()).withSticky(sticky), endpoints, 0,
                new Random(7));
    }

    /** The value of the cookie that names {@code endpoint}, as a first response would set it. */
    private static String cookieFor(Cluster c, Endpoint endpoint) {
        String setCookie = c.stickyCookie(endpoint, Affinity.NONE);
        return setCookie.substring(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
    }

    @Test
    void aCookieKeepsItsEndpointAndIsNotSetAgain() {
        Cluster c = cluster(COOKIE, 4);
        Endpoint third = c.endpoints().get(2);
        Affinity affinity = Affinity.cookie(cookieFor(c, third));
        for (int i = 0; i < 100; i++) {
            assertThat(c.pick(0, 0, affinity)).isSameAs(third);
        }
        assertThat(c.stickyCookie(third, affinity)).as("the client already has it").isNull();
    }

    @Test
    void theCookieNamesTheEndpointWithoutItsAddress() {
        Cluster c = cluster(COOKIE, 4);
        Set<String> values = new HashSet<>();
        for (Endpoint e : c.endpoints()) {
            String value = cookieFor(c, e);
            assertThat(value).hasSize(16).matches("[A-Za-z0-9_-]+").doesNotContain("10.0.0").doesNotContain("8080");
            values.add(value);
        }
        assertThat(values).hasSize(4);
    }

    @Test
    void aSharedSecretGivesEverySluiceTheSameCookieAndAnotherSecretOthers() {
        StickyConfig.Cookie withSecret = new StickyConfig.Cookie("sticky", Optional.empty(), "/", true, false,
                StickyConfig.SameSite.LAX, Optional.of("0123456789abcdef0123"));
        StickyConfig.Cookie otherSecret = new StickyConfig.Cookie("sticky", Optional.empty(), "/", true, false,
                StickyConfig.SameSite.LAX, Optional.of("fedcba98765432100123"));
        Cluster one = cluster(withSecret, 3);
        Cluster two = cluster(withSecret, 3);
        Cluster other = cluster(otherSecret, 3);
        assertThat(cookieFor(two, two.endpoints().get(1))).isEqualTo(cookieFor(one, one.endpoints().get(1)));
        assertThat(cookieFor(other, other.endpoints().get(1))).isNotEqualTo(cookieFor(one, one.endpoints().get(1)));
    }

    @Test
    void anUnusableOrTriedStickyEndpointFallsBackAndTheCookieIsSetAgain() {
        Cluster c = cluster(COOKIE, 3);
        Endpoint sticky = c.endpoints().get(0);
        Affinity affinity = Affinity.cookie(cookieFor(c, sticky));
        assertThat(c.pick(c.bitOf(sticky), 0, affinity)).as("a retry goes elsewhere").isNotSameAs(sticky);
        sticky.health(Endpoint.Health.UNHEALTHY, 0);
        Endpoint fallback = c.pick(0, 0, affinity);
        assertThat(fallback).isNotSameAs(sticky);
        assertThat(c.stickyCookie(fallback, affinity)).startsWith("sticky=" + cookieFor(c, fallback) + ";");
        sticky.health(Endpoint.Health.HEALTHY, 0);
        assertThat(c.pick(0, 0, affinity)).as("back when it is").isSameAs(sticky);
    }

    @Test
    void anUnknownCookieIsBalancedAndReplaced() {
        Cluster c = cluster(COOKIE, 3);
        Affinity forged = Affinity.cookie("10.0.0.1:8080");
        Endpoint picked = c.pick(0, 0, forged);
        assertThat(picked).isNotNull();
        assertThat(c.stickyCookie(picked, forged)).startsWith("sticky=" + cookieFor(c, picked));
    }

    @Test
    void aKeyKeepsItsEndpointAndFallsBackToTheSameOtherOneWhileItIsDown() {
        Cluster c = cluster(BY_CLIENT, 4);
        Affinity key = Affinity.key("192.0.2.10");
        Endpoint own = c.pick(0, 0, key);
        for (int i = 0; i < 50; i++) {
            assertThat(c.pick(0, 0, key)).isSameAs(own);
        }
        own.recordFailure(0, true);
        for (int i = 1; i < Endpoint.CONSECUTIVE_FAILURES_TO_EJECT; i++) {
            own.recordFailure(0, true);
        }
        assertThat(own.isEjected(1)).isTrue();
        Endpoint fallback = c.pick(0, 1, key);
        assertThat(fallback).isNotSameAs(own);
        for (int i = 0; i < 50; i++) {
            assertThat(c.pick(0, 1, key)).as("one fallback per key, not a random one each time").isSameAs(fallback);
        }
        assertThat(c.stickyCookie(fallback, key)).as("a hash sets no cookie").isNull();
    }

    @Test
    void keysSpreadOverTheEndpoints() {
        Cluster c = cluster(BY_CLIENT, 4);
        Map<Endpoint, Integer> counts = new java.util.HashMap<>();
        for (int i = 0; i < 4000; i++) {
            counts.merge(c.pick(0, 0, Affinity.key("user-" + i)), 1, Integer::sum);
        }
        assertThat(counts).hasSize(4);
        assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
    }

    @Test
    void inPanicModeAKeyStillKeepsItsEndpoint() {
        Cluster c = cluster(BY_CLIENT, 3);
        Affinity key = Affinity.key("client-a");
        Endpoint own = c.pick(0, 0, key);
        c.endpoints().forEach(e -> e.health(Endpoint.Health.UNHEALTHY, 0));
        assertThat(c.pick(0, 0, key)).isSameAs(own);
    }
}
