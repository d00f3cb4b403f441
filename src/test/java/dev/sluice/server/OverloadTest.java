package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.BackendHandler;
import dev.sluice.testing.LoadGenerator;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An app with a fixed capacity (a worker pool and a backlog, as gunicorn or uwsgi have) behind
 * Sluice, sent more than it can take: the excess gets a fast, honest 503 {@code overloaded} with
 * {@code Retry-After} from Sluice, the app never holds more than the cluster's limit, and no
 * request ends as a 502 or 504.
 */
class OverloadTest {
    private static final Duration T = Duration.ofSeconds(10);

    /** Serves {@code workers} requests at a time, each taking {@code service}; the rest wait in its backlog. */
    private static final class WorkerPool implements BackendHandler {
        private final int workers;
        private final Duration service;
        private final ArrayDeque<BackendExchange> backlog = new ArrayDeque<>();
        private int busy;
        private int mostBusy;

        WorkerPool(int workers, Duration service) {
            this.workers = workers;
            this.service = service;
        }

        @Override
        public synchronized void onRequest(BackendExchange exchange) {
            if (busy < workers) {
                serve(exchange);
            } else {
                backlog.add(exchange);
            }
        }

        private void serve(BackendExchange exchange) {
            busy++;
            mostBusy = Math.max(mostBusy, busy + backlog.size());
            exchange.schedule(service, () -> {
                exchange.respond(200, "done");
                finished();
            });
        }

        private synchronized void finished() {
            busy--;
            BackendExchange next = backlog.poll();
            if (next != null) {
                serve(next);
            }
        }

        /** The most requests the app held at once, working or waiting in its backlog. */
        synchronized int mostHeld() {
            return mostBusy;
        }
    }

    private static String yaml(String backend, String concurrency) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                %s
                """.formatted(backend, concurrency.indent(4));
    }

    @Test
    void aBurstPastTheLimitAndTheQueueIsShedAtOnceAndTheAppNeverHoldsMoreThanTheLimit() throws Exception {
        // Each request takes 1 s: all thirty arrive while the first four are served, however loaded the machine.
        WorkerPool app = new WorkerPool(4, Duration.ofSeconds(1));
        try (TestBackend backend = TestBackend.start(app);
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(),
                     "concurrency: { limit: 4, queue: 8, queue_timeout: 10s }"))) {
            List<RawHttpClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 30; i++) {
                    clients.add(RawHttpClient.connect(gw.address()));
                }
                for (RawHttpClient client : clients) {
                    client.send("GET /work HTTP/1.1\r\nHost: app\r\n\r\n");
                }
                int ok = 0;
                int shed = 0;
                for (RawHttpClient client : clients) {
                    RawResponse r = client.readResponse(T);
                    if (r.status() == 200) {
                        ok++;
                    } else {
                        assertThat(r.status()).isEqualTo(503);
                        assertThat(r.header("x-sluice-error")).isEqualTo("overloaded");
                        assertThat(r.header("retry-after")).isNotNull();
                        shed++;
                    }
                }
                // Four in flight and eight waiting are served; the other eighteen are told at once.
                assertThat(ok).isEqualTo(12);
                assertThat(shed).isEqualTo(18);
                assertThat(app.mostHeld()).isLessThanOrEqualTo(4);
                Await.until(T, () -> gw.accessLogLines().size() == 30, "thirty log lines");
                assertThat(gw.accessLogLines()).filteredOn(l -> l.contains("\"status\":503"))
                        .allSatisfy(l -> assertThat(l).contains("\"failure\":\"overloaded\"", "\"endpoint\":null"));
                String metrics = gw.gateway().metrics().scrape();
                assertThat(metrics).contains("sluice_cluster_concurrency_shed{cluster=\"app\"} 18.0",
                        "sluice_cluster_concurrency_limit{cluster=\"app\"} 4.0",
                        "sluice_cluster_concurrency_queued{cluster=\"app\"} 0.0");
            } finally {
                clients.forEach(RawHttpClient::close);
            }
        }
    }

    @Test
    void aRequestThatWaitedItsQueueTimeoutIsShedWithoutReachingTheApp() throws Exception {
        WorkerPool app = new WorkerPool(1, Duration.ofSeconds(2));
        try (TestBackend backend = TestBackend.start(app);
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(),
                     "concurrency: { limit: 1, queue: 5, queue_timeout: 200ms }"));
             RawHttpClient first = RawHttpClient.connect(gw.address());
             RawHttpClient second = RawHttpClient.connect(gw.address())) {
            first.send("GET /slow HTTP/1.1\r\nHost: app\r\n\r\n");
            Await.until(T, () -> backend.requests().size() == 1, "the first request at the app");
            RawResponse waited = second.send("GET /slow HTTP/1.1\r\nHost: app\r\n\r\n").readResponse(T);
            assertThat(waited.status()).isEqualTo(503);
            assertThat(waited.header("x-sluice-error")).isEqualTo("overloaded");
            assertThat(first.readResponse(T).status()).isEqualTo(200);
            assertThat(backend.requests()).hasSize(1);
            // The connection of the shed request stays usable once the app has room again.
            assertThat(second.send("GET /slow HTTP/1.1\r\nHost: app\r\n\r\n").readResponse(T).status()).isEqualTo(200);
        }
    }

    @Test
    void withTheDefaultsAnAppFloodedPastItsCapacityAnswersOnly200sAnd503sNever502sOr504s() throws Exception {
        // About 100 requests a second (4 workers, 40 ms each), asked for far more by 64 connections.
        WorkerPool app = new WorkerPool(4, Duration.ofMillis(40));
        try (TestBackend backend = TestBackend.start(app);
             TestGateway gw = TestGateway.fromYaml(yaml(backend.authority(), ""))) {
            LoadGenerator.Result result = LoadGenerator.to(URI.create(gw.url("/flood"))).connections(64)
                    .duration(Duration.ofSeconds(4)).requestTimeout(T).run();
            assertThat(result.transportErrors()).isEmpty();
            assertThat(result.statusCounts().keySet()).isSubsetOf(200, 503);
            assertThat(result.count(200)).isGreaterThan(100);
            long overloaded = gw.accessLogLines().stream().filter(l -> l.contains("\"failure\":\"overloaded\"")).count();
            assertThat(overloaded).isEqualTo(result.count(503));
        }
    }
}
