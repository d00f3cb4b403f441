package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {

    @Test
    void countsStatusesAndStopsAtTheRequestCount() {
        AtomicInteger n = new AtomicInteger();
        BackendHandler handler = ex -> ex.respond(n.getAndIncrement() % 2 == 0 ? 200 : 503, "");
        try (TestBackend backend = TestBackend.start(handler)) {
            LoadGenerator.Result r = LoadGenerator.to(backend.uri("/")).connections(4).requests(400).run();

            assertThat(r.requests()).isEqualTo(400);
            assertThat(r.count(200)).isEqualTo(200);
            assertThat(r.count(503)).isEqualTo(200);
            assertThat(r.transportErrors()).isEmpty();
            assertThat(r.connectionsOpened()).isEqualTo(4);
        }
    }

    @Test
    void saysWhyAnswersOtherThan2xxCameByTheirSluiceErrorKind() {
        AtomicInteger n = new AtomicInteger();
        BackendHandler handler = ex -> {
            int i = n.getAndIncrement() % 4;
            if (i == 1) {
                ex.respond(503, new io.netty.handler.codec.http.DefaultHttpHeaders().add("x-sluice-error",
                        "no_healthy_endpoint"), new byte[0]);
            } else {
                ex.respond(i == 3 ? 404 : 200, "");
            }
        };
        try (TestBackend backend = TestBackend.start(handler)) {
            LoadGenerator.Result r = LoadGenerator.to(backend.uri("/")).connections(1).requests(400).run();

            assertThat(r.refusals()).containsOnly(Map.entry("404 -", 100L), Map.entry("503 no_healthy_endpoint", 100L));
        }
    }

    @Test
    void sendsTheConfiguredMethodHeadersAndBody() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200))) {
            LoadGenerator.to(backend.uri("/p?q=1")).connections(1).requests(1).method("PUT")
                    .header("X-Test", "yes").body(new byte[] {1, 2, 3}).run();

            RecordedRequest r = backend.awaitRequests(1, Duration.ofSeconds(10)).get(0);
            assertThat(r.method()).isEqualTo("PUT");
            assertThat(r.uri()).isEqualTo("/p?q=1");
            assertThat(r.header("x-test")).isEqualTo("yes");
            assertThat(r.body()).containsExactly(1, 2, 3);
        }
    }

    @Test
    void countsTransportErrorsByKindAndReconnects() {
        AtomicInteger n = new AtomicInteger();
        BackendHandler handler = ex -> {
            if (n.getAndIncrement() % 2 == 1) {
                ex.resetConnection();
            } else {
                ex.respond(200, "");
            }
        };
        try (TestBackend backend = TestBackend.start(handler)) {
            LoadGenerator.Result r = LoadGenerator.to(backend.uri("/")).connections(2).requests(100).run();

            assertThat(r.count(200)).isEqualTo(50);
            assertThat(r.transportErrors()).containsOnlyKeys("reset");
            assertThat(r.transportErrorTotal()).isEqualTo(50);
            assertThat(r.connectionsOpened()).isGreaterThanOrEqualTo(50);
        }
    }

    @Test
    void refusedConnectsAreCountedAndTheRunStillEnds() throws Exception {
        URI dead;
        try (TcpTestServer gone = TcpTestServer.start()) {
            dead = URI.create("http://127.0.0.1:" + gone.port() + "/");
        }
        LoadGenerator.Result r = LoadGenerator.to(dead).connections(2).requests(20).run();

        assertThat(r.transportErrors()).containsEntry("connect_refused", 20L);
        assertThat(r.responses()).isZero();
    }

    @Test
    void stopsByItselfAtTheDurationWhenResponsesAreSlow() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.delayed(Duration.ofMillis(50), BackendHandlers.status(200)))) {
            long start = System.nanoTime();
            LoadGenerator.Result r = LoadGenerator.to(backend.uri("/")).connections(2).requests(1_000_000)
                    .duration(Duration.ofMillis(500)).run();

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(r.requests()).isBetween(2L, 100L);
            assertThat(r.count(200)).isEqualTo(r.requests());
        }
    }
}
