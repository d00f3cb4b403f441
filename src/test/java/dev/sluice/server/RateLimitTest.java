package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.resilience.RateLimiter;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Per-client limits on a route, on real sockets: a client over its rate or its in-flight limit
 * gets a 429 at once that says when to come back, and never reaches the backend, while other
 * clients go on; who the client is comes from X-Forwarded-For only through trusted proxies.
 */
class RateLimitTest {
    private static final Duration T = Duration.ofSeconds(10);

    private static String yaml(String backend, String trustedProxies, String rules) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    trusted_proxies: [%s]
                routes:
                  - name: lease
                    match: { path_prefix: /lease }
                    cluster: app
                    rate_limits:
                %s
                clusters:
                  - name: app
                    endpoints: [%s]
                    # Off: a cold cluster's adaptive limit holds it at 3 while it measures its
                    # baseline, which would queue the requests these tests count in flight.
                    concurrency: { limit: off }
                """.formatted(trustedProxies, rules.indent(6).stripTrailing(), backend);
    }

    private static RawResponse get(RawHttpClient client, String... fields) {
        StringBuilder request = new StringBuilder("GET /lease HTTP/1.1\r\nHost: app\r\n");
        for (String field : fields) {
            request.append(field).append("\r\n");
        }
        return client.send(request.append("\r\n").toString()).readResponse(T);
    }

    @Test
    void aClientOverItsRateIsToldWhenToComeBackAndAnotherClientIsNotTouched() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), "127.0.0.1/32",
                     "- { key: client, rate: 5/m, burst: 3 }"));
             RawHttpClient greedy = RawHttpClient.connect(gw.address());
             RawHttpClient other = RawHttpClient.connect(gw.address())) {
            for (int i = 0; i < 3; i++) {
                assertThat(get(greedy, "X-Forwarded-For: 192.0.2.1").status()).isEqualTo(200);
            }
            RawResponse refused = get(greedy, "X-Forwarded-For: 192.0.2.1");
            for (int i = 0; i < 3; i++) {
                assertThat(get(other, "X-Forwarded-For: 192.0.2.2").status()).as("another client").isEqualTo(200);
            }

            assertThat(refused.status()).isEqualTo(429);
            assertThat(refused.header("x-sluice-error")).isEqualTo("rate_limited");
            // 5/m: a token every 12 s, the first due 12 s after the bucket was full.
            int retryAfter = Integer.parseInt(refused.header("retry-after"));
            assertThat(retryAfter).isBetween(1, 12);
            assertThat(refused.header("ratelimit-policy")).isEqualTo("\"client\";q=5;w=60;sluice-burst=3");
            assertThat(refused.header("ratelimit")).isEqualTo("\"client\";r=0;t=" + retryAfter);
            assertThat(backend.requestCount()).as("the refused request never reached it").isEqualTo(6);
            assertThat(get(greedy, "X-Forwarded-For: 192.0.2.1").status()).as("the connection stays usable")
                    .isEqualTo(429);

            Await.until(T, () -> gw.accessLogLines().size() == 8, "eight log lines");
            assertThat(gw.accessLogLines()).filteredOn(l -> l.contains("\"status\":429")).hasSize(2)
                    .allSatisfy(l -> assertThat(l).contains("\"failure\":\"rate_limited\"", "\"endpoint\":null"));
            // Behind the trusted proxy each line names the client its X-Forwarded-For names, and the proxy as peer.
            assertThat(gw.accessLogLines()).filteredOn(l -> l.contains("\"client\":\"192.0.2.1\"")).hasSize(5)
                    .allSatisfy(l -> assertThat(l).contains("\"peer\":\"127.0.0.1\""));
            assertThat(gw.gateway().metrics().scrape())
                    .contains("sluice_rate_limit_refusals_total{mode=\"enforce\",route=\"lease\",rule=\"client\",scope=\"local\"} 2.0")
                    .contains("sluice_failures_total{cluster=\"app\",kind=\"rate_limited\",route=\"lease\"} 2.0");
        }
    }

    @Test
    void xForwardedForNamesTheClientOnlyWhenATrustedProxyWroteIt() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway direct = TestGateway.fromYaml(yaml(backend.authority(), "",
                     "- { key: client, rate: 1/m, burst: 2 }"));
             TestGateway behindProxy = TestGateway.fromYaml(yaml(backend.authority(), "127.0.0.1/32",
                     "- { key: client, rate: 1/m, burst: 2 }"));
             RawHttpClient client = RawHttpClient.connect(direct.address());
             RawHttpClient proxy = RawHttpClient.connect(behindProxy.address())) {
            // Nobody trusted: a new made-up address on each request changes nothing; the peer is the client.
            List<Integer> direct3 = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                direct3.add(get(client, "X-Forwarded-For: 198.51.100." + i).status());
            }
            assertThat(direct3).containsExactly(200, 200, 429);
            Await.until(T, () -> direct.accessLogLines().size() == 3, "three log lines");
            assertThat(direct.accessLogLines()).as("the log does not believe the header either")
                    .allSatisfy(l -> assertThat(l).contains("\"client\":\"127.0.0.1\"").doesNotContain("\"peer\""));

            // Through a trusted proxy: the address it saw is the client; what the client wrote left of it is not.
            List<Integer> forged = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                forged.add(get(proxy, "X-Forwarded-For: 198.51.100." + i + ", 192.0.2.7").status());
            }
            assertThat(forged).containsExactly(200, 200, 429);
            assertThat(get(proxy, "X-Forwarded-For: 192.0.2.8").status()).as("another client behind it").isEqualTo(200);
        }
    }

    @Test
    void theFifthConcurrentRequestOfAClientIsRefusedAtOnceWhileOthersAreServed() throws Exception {
        List<BackendExchange> held = new CopyOnWriteArrayList<>();
        try (TestBackend backend = TestBackend.start(held::add);
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), "127.0.0.1/32",
                     "- { key: client, max_in_flight: 4 }"))) {
            List<RawHttpClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    clients.add(RawHttpClient.connect(gw.address()));
                }
                for (int i = 0; i < 4; i++) {
                    clients.get(i).send("GET /lease HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");
                }
                Await.until(T, () -> held.size() == 4, "four requests held at the backend");

                RawResponse fifth = get(clients.get(4), "X-Forwarded-For: 192.0.2.1");
                assertThat(fifth.status()).isEqualTo(429);
                assertThat(fifth.header("ratelimit")).isEqualTo("\"client-in-flight\";r=0");
                assertThat(fifth.header("ratelimit-policy"))
                        .isEqualTo("\"client-in-flight\";q=4;qu=\"concurrent-requests\"");
                clients.get(5).send("GET /lease HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 192.0.2.2\r\n\r\n");
                Await.until(T, () -> held.size() == 5, "another client's request at the backend");

                held.forEach(exchange -> exchange.respond(200, "done"));
                for (int i : new int[] {0, 1, 2, 3, 5}) {
                    assertThat(clients.get(i).readResponse(T).status()).isEqualTo(200);
                }
                // The four ended: their places are back.
                clients.get(4).send("GET /lease HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");
                Await.until(T, () -> held.size() == 6, "the client's next request at the backend");
                held.get(5).respond(200, "done");
                assertThat(clients.get(4).readResponse(T).status()).isEqualTo(200);
            } finally {
                clients.forEach(RawHttpClient::close);
            }
        }
    }

    @Test
    void aShadowLimitCountsWhatItWouldRefuseAndRefusesNothing() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), "",
                     "- { key: route, rate: 1/m, burst: 2, mode: shadow }"));
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            for (int i = 0; i < 10; i++) {
                RawResponse response = get(client);
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.header("ratelimit")).isNull();
            }
            assertThat(backend.requestCount()).isEqualTo(10);
            assertThat(gw.gateway().metrics().scrape())
                    .contains("sluice_rate_limit_shadow_refusals_total{mode=\"shadow\",route=\"lease\",rule=\"route\",scope=\"local\"} 8.0")
                    .contains("sluice_rate_limit_refusals_total{mode=\"shadow\",route=\"lease\",rule=\"route\",scope=\"local\"} 0.0");
        }
    }

    @Test
    void aReloadKeepsAnUnchangedRulesBucketsAndAChangedRuleStartsAfresh() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), "",
                     "- { key: client, rate: 1/m, burst: 2 }"));
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            assertThat(List.of(get(client).status(), get(client).status(), get(client).status()))
                    .containsExactly(200, 200, 429);
            gw.gateway().apply(dev.sluice.config.ConfigLoader.parse(yaml(backend.authority(), "",
                    "- { key: client, rate: 1/m, burst: 2 }"), "<reload>"));
            assertThat(get(client).status()).as("a reload is no way to get a burst back").isEqualTo(429);
            gw.gateway().apply(dev.sluice.config.ConfigLoader.parse(yaml(backend.authority(), "",
                    "- { key: client, rate: 1/m, burst: 3 }"), "<reload>"));
            assertThat(get(client).status()).as("a new rule, new buckets").isEqualTo(200);
        }
    }

    @Test
    void aFloodOfDistinctKeysKeepsTheRuleWithinItsKeysAndAKeyThatSpentItsBurstStaysLimited() throws Exception {
        int flood = 2_000;
        try (TestBackend backend = TestBackend.builder().handler(BackendHandlers.status(200)).recordLimit(0).start();
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), "",
                     "- { key: \"header:x-api-key\", rate: 1/m, burst: 100, max_keys: 50 }"));
             RawHttpClient victim = RawHttpClient.connect(gw.address());
             RawHttpClient flooder = RawHttpClient.connect(gw.address())) {
            // The victim spends its burst of 100; each flood key will take one token of the state it lands on.
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < 100; i++) {
                burst.append("GET /lease HTTP/1.1\r\nHost: app\r\nx-api-key: victim\r\n\r\n");
            }
            victim.send(burst.toString());
            for (int i = 0; i < 100; i++) {
                assertThat(victim.readResponse(T).status()).isEqualTo(200);
            }
            assertThat(get(victim, "x-api-key: victim").status()).isEqualTo(429);

            // Pipelined in batches: 2,000 keys, forty times the rule's 50.
            for (int sent = 0; sent < flood; sent += 500) {
                StringBuilder batch = new StringBuilder();
                for (int i = sent; i < sent + 500; i++) {
                    batch.append("GET /lease HTTP/1.1\r\nHost: app\r\nx-api-key: flood-").append(i).append("\r\n\r\n");
                }
                flooder.send(batch.toString());
                for (int i = 0; i < 500; i++) {
                    assertThat(flooder.readResponse(T).status()).isIn(200, 429);
                }
            }

            RateLimiter rule = gw.gateway().snapshot().routes().routes().get(0).rateLimits().rules().get(0);
            assertThat(rule.keysHeld()).isEqualTo(50);
            assertThat(get(victim, "x-api-key: victim").status()).as("still limited after the flood").isEqualTo(429);
        }
    }
}
