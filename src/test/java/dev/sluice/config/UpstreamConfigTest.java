package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code clusters[].sticky}, {@code clusters[].dns_refresh} and {@code clusters[].protocol}: defaults, and mistakes reported where they are. */
class UpstreamConfigTest {

    private static String cluster(String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    endpoints: [127.0.0.1:9001, api.internal:9002]
                """ + extra;
    }

    private static ClusterConfig bind(String extra) throws ConfigException {
        return ConfigLoader.parse(cluster(extra), "x.yaml").clusters().get(0);
    }

    @Test
    void aClusterIsNotStickyAndAsksItsNamesEveryThirtySecondsByDefault() throws ConfigException {
        ClusterConfig web = bind("");
        assertThat(web.sticky()).isEmpty();
        assertThat(web.dnsRefresh()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void anEmptyCookieTakesEveryDefault() throws ConfigException {
        assertThat(bind("    sticky: { cookie: {} }\n").sticky()).contains(new StickyConfig.Cookie("sluice_web",
                Optional.empty(), "/", true, false, StickyConfig.SameSite.LAX, Optional.empty()));
    }

    @Test
    void everyCookieAttributeIsRead() throws ConfigException {
        assertThat(bind("""
                    sticky:
                      cookie: { name: route, ttl: 1h, path: /shop, http_only: false, secure: true, same_site: none,
                                secret: 0123456789abcdef0123 }
                """).sticky()).contains(new StickyConfig.Cookie("route", Optional.of(Duration.ofHours(1)), "/shop",
                false, true, StickyConfig.SameSite.NONE, Optional.of("0123456789abcdef0123")));
    }

    @Test
    void hashSourcesAreTheClientOrAHeader() throws ConfigException {
        assertThat(bind("    sticky: { hash: client }\n").sticky())
                .contains(new StickyConfig.Hash(new StickyConfig.HashSource.Client()));
        assertThat(bind("    sticky: { hash: header:X-User-Id }\n").sticky())
                .contains(new StickyConfig.Hash(new StickyConfig.HashSource.Header("x-user-id")));
    }

    @Test
    void aClusterSpeaksHttp11UnlessAskedForH2cOrH2OverTls() throws ConfigException {
        assertThat(bind("").protocol()).isEqualTo(ClusterConfig.Protocol.HTTP1_1);
        assertThat(bind("    protocol: h2c\n").protocol()).isEqualTo(ClusterConfig.Protocol.H2C);
        assertThat(bind("    protocol: http1.1\n").protocol()).isEqualTo(ClusterConfig.Protocol.HTTP1_1);
        ClusterConfig h2 = bind("    protocol: h2\n    tls: { verify: false }\n");
        assertThat(h2.protocol()).isEqualTo(ClusterConfig.Protocol.H2);
        assertThat(h2.protocol().multiplexed()).isTrue();
    }

    @Test
    void aProtocolThatDoesNotFitTheClustersTlsIsLocated() {
        assertThat(problems(cluster("    protocol: h3\n"))).containsExactly(
                "9:15: clusters[0].protocol: unknown protocol 'h3' (did you mean 'h2'?)");
        assertThat(problems(cluster("    protocol: h2\n"))).containsExactly(
                "9:15: clusters[0].protocol: h2 is HTTP/2 over TLS and needs the cluster's 'tls'; use h2c for "
                        + "HTTP/2 in cleartext");
        assertThat(problems(cluster("    protocol: h2c\n    tls: { verify: false }\n"))).containsExactly(
                "9:15: clusters[0].protocol: h2c is HTTP/2 in cleartext, but the cluster has 'tls'; use h2 for "
                        + "HTTP/2 over TLS");
    }

    @Test
    void anHttp2ClusterPingsItsQuietConnectionsEveryTenSecondsUnlessToldOtherwise() throws ConfigException {
        assertThat(bind("    protocol: h2c\n").http2()).isEqualTo(new UpstreamHttp2Config(
                Optional.of(Duration.ofSeconds(10)), Duration.ofSeconds(5)));
        assertThat(bind("    protocol: h2c\n    http2: { ping_interval: 30s, ping_timeout: 2s }\n").http2())
                .isEqualTo(new UpstreamHttp2Config(Optional.of(Duration.ofSeconds(30)), Duration.ofSeconds(2)));
        assertThat(bind("    protocol: h2c\n    http2: { ping_interval: off }\n").http2().pingInterval()).isEmpty();
        assertThat(bind("    protocol: h2c\n    http2: {}\n").http2()).isEqualTo(UpstreamHttp2Config.DEFAULT);
    }

    @Test
    void http2SettingsOutOfPlaceOrWithoutMeaningAreLocated() {
        assertThat(problems(cluster("    http2: { ping_interval: 30s }\n"))).containsExactly(
                "9:12: clusters[0].http2: this cluster's protocol is http1.1, and these are settings of HTTP/2 "
                        + "connections; set 'protocol: h2c' (or 'h2' with 'tls'), or remove 'http2'");
        assertThat(problems(cluster("    protocol: h2c\n    http2: { ping_interval: off, ping_timeout: 2s }\n")))
                .containsExactly("10:48: clusters[0].http2.ping_timeout: with 'ping_interval: off' no PING is sent, "
                        + "so there is none to wait for; remove 'ping_timeout', or give 'ping_interval' a duration");
        assertThat(problems(cluster("    protocol: h2c\n    http2: { ping_interval: 10 }\n"))).singleElement()
                .asString().startsWith("10:29: clusters[0].http2.ping_interval: invalid duration '10'").endsWith(", or 'off'");
        assertThat(problems(cluster("    protocol: h2c\n    http2: { ping_timout: 2s }\n"))).containsExactly(
                "10:14: unknown key 'ping_timout' in clusters[0].http2 (did you mean 'ping_timeout'?)");
    }

    @Test
    void anUnknownHashSourceIsLocated() {
        assertThat(problems(cluster("    sticky: { hash: cleint }\n"))).containsExactly(
                "9:21: clusters[0].sticky.hash: unknown hash source 'cleint': expected client or header:NAME "
                        + "(did you mean 'client'?)");
        assertThat(problems(cluster("    sticky: { hash: \"header:\" }\n"))).containsExactly(
                "9:21: clusters[0].sticky.hash: a header hash needs the header's name: write header:NAME, "
                        + "e.g. header:x-user-id");
    }

    @Test
    void cookieAndHashTogetherOrNeitherIsRefused() {
        assertThat(problems(cluster("    sticky: { cookie: {}, hash: client }\n"))).containsExactly(
                "9:13: clusters[0].sticky: choose one of 'cookie' and 'hash'; a request follows one or the other");
        assertThat(problems(cluster("    sticky: {}\n"))).singleElement().asString()
                .startsWith("9:13: clusters[0].sticky: say how requests stick: 'cookie: {}'");
    }

    @Test
    void badCookieAttributesAreLocated() {
        assertThat(problems(cluster("""
                    sticky:
                      cookie: { name: "my cookie", ttl: 500ms, path: shop, same_site: loose, secret: short }
                """))).containsExactly(
                "10:23: clusters[0].sticky.cookie.name: 'my cookie' is not a valid cookie name (letters, digits and "
                        + "!#$%&'*+-.^_`|~ only)",
                "10:41: clusters[0].sticky.cookie.ttl: a cookie's Max-Age counts whole seconds; use at least 1s, "
                        + "or 'session'",
                "10:54: clusters[0].sticky.cookie.path: a cookie path starts with '/', got 'shop'",
                "10:71: clusters[0].sticky.cookie.same_site: unknown same_site 'loose': expected strict, lax or none",
                "10:86: clusters[0].sticky.cookie.secret: a secret needs at least 16 characters (got 5); make one "
                        + "with `openssl rand -hex 32`");
    }

    @Test
    void cookiesBrowsersWouldDropAreRefused() {
        assertThat(problems(cluster("    sticky: { cookie: { same_site: none } }\n"))).containsExactly(
                "9:36: clusters[0].sticky.cookie.same_site: browsers drop a SameSite=None cookie that is not Secure; "
                        + "add 'secure: true' (and serve the site over HTTPS), or use lax");
        assertThat(problems(cluster("    sticky: { cookie: { name: __Host-id, path: /a, secure: true } }\n")))
                .containsExactly("9:31: clusters[0].sticky.cookie.name: browsers drop a '__Host-' cookie whose path "
                        + "is not /");
    }

    @Test
    void aDnsRefreshOnlyOfIpAddressesIsAWarning() throws ConfigException {
        String yaml = cluster("    dns_refresh: 5s\n").replace("api.internal:9002", "127.0.0.1:9002");
        var checked = ConfigLoader.parseWithWarnings(yaml, "x.yaml");
        assertThat(checked.warnings()).extracting(ConfigWarning::toString).containsExactly(
                "x.yaml:9:18: warning: clusters[0].dns_refresh: every endpoint of this cluster is an IP address, so "
                        + "there is no name to ask again; dns_refresh changes nothing here");
        assertThat(bind("    dns_refresh: 5s\n").dnsRefresh()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aDnsRefreshTooShortIsRefused() {
        assertThat(problems(cluster("    dns_refresh: 10ms\n"))).containsExactly(
                "9:18: clusters[0].dns_refresh: 10ms is too short; at least 100ms (every name is asked that often)");
    }
}
