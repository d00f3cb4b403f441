package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import dev.sluice.upstream.DnsRefresh;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.NameResolver;
import dev.sluice.upstream.NameResolver.Answer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Hostname endpoints on real sockets: the cluster follows its name's answers, and outlives a name that stops resolving. */
class HostnameEndpointsTest {
    private static final Duration T = Duration.ofSeconds(10);

    /** A resolver whose answers the test gives, one lookup at a time (after the first, given up front). */
    static final class ScriptedNames implements NameResolver {
        private final BlockingQueue<Answer> ready = new LinkedBlockingQueue<>();
        private final BlockingQueue<CompletableFuture<Answer>> asked = new LinkedBlockingQueue<>();
        final Set<String> hosts = java.util.concurrent.ConcurrentHashMap.newKeySet();

        ScriptedNames(Answer first) {
            ready.add(first);
        }

        @Override
        public CompletionStage<Answer> resolve(String host) {
            hosts.add(host);
            Answer now = ready.poll();
            if (now != null) {
                return CompletableFuture.completedFuture(now);
            }
            CompletableFuture<Answer> later = new CompletableFuture<>();
            asked.add(later);
            return later;
        }

        /** Answers the next lookup (waiting for Sluice to ask). */
        void answer(Answer answer) throws InterruptedException {
            CompletableFuture<Answer> lookup = asked.poll(T.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(lookup).as("Sluice asked again").isNotNull();
            lookup.complete(answer);
        }
    }

    private static Answer at(String... ips) throws Exception {
        InetAddress[] addresses = new InetAddress[ips.length];
        for (int i = 0; i < ips.length; i++) {
            addresses[i] = InetAddress.getByName(ips[i]);
        }
        return new Answer.Addresses(List.of(addresses), -1);
    }

    private static String get(TestGateway gw) {
        try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
            return client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).bodyString();
        }
    }

    private static DnsRefresh.Standing standing(TestGateway gw) {
        return gw.gateway().dnsRefresh().standings("app").getFirst();
    }

    @Test
    void trafficMovesToTheNamesNewAddressAndTheOldOnesConnectionsClose() throws Exception {
        try (TestBackend old = TestBackend.builder().handler(BackendHandlers.fixed(200, "old"))
                     .bindTo(new InetSocketAddress("127.0.0.1", 0)).start();
             TestBackend moved = TestBackend.builder().handler(BackendHandlers.fixed(200, "moved"))
                     .bindTo(new InetSocketAddress("127.0.0.2", old.port())).start()) {
            ScriptedNames names = new ScriptedNames(at("127.0.0.1"));
            try (TestGateway gw = TestGateway.fromYaml("""
                    listeners:
                      - address: 127.0.0.1:0
                    routes:
                      - match: { path_prefix: / }
                        cluster: app
                    clusters:
                      - name: app
                        idle_timeout: 60s   # only the drain, not expiry, may close the pooled connection
                        dns_refresh: 100ms
                        endpoints: [backend.test:%d]
                    """.formatted(old.port()), names)) {
                assertThat(names.hosts).containsExactly("backend.test");
                for (int i = 0; i < 3; i++) {
                    assertThat(get(gw)).isEqualTo("old");
                }
                assertThat(old.openConnections()).as("pooled, on one or both event loops").isPositive();
                assertThat(standing(gw).addresses()).containsExactly("127.0.0.1");

                names.answer(at("127.0.0.2"));
                Await.until(T, () -> get(gw).equals("moved"), "traffic on the name's new address");
                Await.until(T, () -> old.openConnections() == 0, "the old address's pooled connection closed");
                for (int i = 0; i < 5; i++) {
                    assertThat(get(gw)).isEqualTo("moved");
                }
                assertThat(standing(gw)).satisfies(s -> {
                    assertThat(s.state()).isEqualTo("resolved");
                    assertThat(s.addresses()).containsExactly("127.0.0.2");
                });
                assertThat(gw.gateway().snapshot().clusters().get("app").endpoints()).singleElement()
                        .satisfies(e -> assertThat(e.id()).isEqualTo("backend.test:" + old.port() + " 127.0.0.2"));
            }
        }
    }

    @Test
    void aNameThatStopsResolvingKeepsItsAddressesThenCountsAsUnhealthyUntilItIsBack() throws Exception {
        try (TestBackend named = TestBackend.start(BackendHandlers.fixed(200, "named"));
             TestBackend literal = TestBackend.start(BackendHandlers.fixed(200, "literal"))) {
            ScriptedNames names = new ScriptedNames(at("127.0.0.1"));
            try (TestGateway gw = TestGateway.fromYaml("""
                    listeners:
                      - address: 127.0.0.1:0
                    routes:
                      - match: { path_prefix: / }
                        cluster: app
                    clusters:
                      - name: app
                        load_balancer: round_robin
                        dns_refresh: 100ms
                        endpoints: [named.test:%d, %s]
                    """.formatted(named.port(), literal.authority()), names)) {
                assertThat(bodies(gw, 4)).containsExactlyInAnyOrder("named", "literal");

                names.answer(new Answer.Failed("no such name"));
                Await.until(T, () -> standing(gw).state().equals("failing"), "the first failure seen");
                assertThat(standing(gw).addresses()).as("its last addresses kept").containsExactly("127.0.0.1");
                assertThat(bodies(gw, 4)).as("and still used").containsExactlyInAnyOrder("named", "literal");

                names.answer(new Answer.Failed("no such name"));
                names.answer(new Answer.Failed("no such name"));
                Await.until(T, () -> standing(gw).state().equals("lost"), "the name lost after 3 failures");
                assertThat(standing(gw).error()).isEqualTo("no such name");
                Endpoint lost = gw.gateway().snapshot().clusters().get("app").endpoints().getFirst();
                assertThat(lost.nameLost()).isTrue();
                assertThat(bodies(gw, 6)).as("handled as unhealthy: the healthy endpoint takes everything")
                        .containsOnly("literal");

                names.answer(at("127.0.0.1"));
                Await.until(T, () -> standing(gw).state().equals("resolved"), "the name found again");
                assertThat(bodies(gw, 4)).containsExactlyInAnyOrder("named", "literal");
            }
        }
    }

    private static Set<String> bodies(TestGateway gw, int requests) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < requests; i++) {
            seen.add(get(gw));
        }
        return seen;
    }
}
