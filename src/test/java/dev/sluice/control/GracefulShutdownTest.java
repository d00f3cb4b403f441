package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Instance;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The drain sequence in-process, driven through {@code POST /drain} as an operator would. */
class GracefulShutdownTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static String config(TestBackend backend, String drain) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:%d]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                drain: %s
                """.formatted(backend.port(), drain);
    }

    @Test
    void readinessTurns503AtOnceWhileRequestsAreServedAsUsualThroughTheDelay() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "ok"));
             InProcessSluice sluice = InProcessSluice.start(config(backend, "{ delay: 2s, timeout: 5s }"), dir,
                     Duration.ofMinutes(10));
             RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
            assertThat(sluice.admin().readyStatus()).isEqualTo(200);

            AdminHttp.Answer answer = sluice.admin().post("/drain");

            assertThat(answer.status()).isEqualTo(202);
            assertThat(answer.json().path("delay_ms").asLong()).isEqualTo(2000);
            assertThat(sluice.admin().readyStatus()).isEqualTo(503);
            assertThat(sluice.admin().get("/status").json().path("state").asText()).isEqualTo("draining");
            // Within the delay: keep-alive as usual, and new connections are still accepted.
            RawResponse during = get(client);
            assertThat(during.status()).isEqualTo(200);
            assertThat(during.connectionClose()).isFalse();
            try (RawHttpClient late = RawHttpClient.connect(sluice.listener())) {
                assertThat(get(late).status()).isEqualTo(200);
            }
            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(stopped.cut()).isZero();
            assertThat(stopped.summary()).contains("(POST /drain, delay 2000 ms)").endsWith("all finished, 0 cut");
            assertThat(sluice.admin().readyStatus()).as("the admin API closes with the rest").isEqualTo(-1);
        }
    }

    @Test
    void aRequestInFlightWhenTheListenersCloseFinishesAndClosesItsConnection() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.delayed(Duration.ofMillis(600),
                BackendHandlers.fixed(200, "slow")));
             InProcessSluice sluice = InProcessSluice.start(config(backend, "{ delay: 0s, timeout: 5s }"), dir,
                     Duration.ofMinutes(10));
             RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
            InetSocketAddress listener = sluice.listener();
            client.send("GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
            backend.awaitRequests(1, AWAIT);

            assertThat(sluice.instance().drain("test")).isTrue();

            Await.until(AWAIT, () -> !canConnect(listener), "listener closed");
            RawResponse response = client.readFinalResponse(AWAIT);
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.bodyString()).isEqualTo("slow");
            assertThat(response.connectionClose()).isTrue();
            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(stopped.inFlightAtClose()).isEqualTo(1);
            assertThat(stopped.cut()).isZero();
            assertThat(stopped.summary()).contains("1 requests in flight").endsWith("all finished, 0 cut");
        }
    }

    @Test
    void aRequestStillInFlightAtTheTimeoutIsCutAndCounted() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.delayed(Duration.ofSeconds(20),
                BackendHandlers.fixed(200, "too slow")));
             InProcessSluice sluice = InProcessSluice.start(config(backend, "{ delay: 0s, timeout: 300ms }"), dir,
                     Duration.ofMinutes(10));
             RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
            client.send("GET /hang HTTP/1.1\r\nHost: test\r\n\r\n");
            backend.awaitRequests(1, AWAIT);

            sluice.instance().drain("test");

            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(stopped.cut()).isEqualTo(1);
            assertThat(stopped.summary()).endsWith("1 cut at the drain timeout");
            client.awaitClosed(AWAIT);
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedOnceItStaysIdle() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "ok"));
             InProcessSluice sluice = InProcessSluice.start(config(backend, "{ delay: 0s, timeout: 10s }"), dir,
                     Duration.ofMinutes(10));
             RawHttpClient idle = RawHttpClient.connect(sluice.listener())) {
            assertThat(get(idle).status()).isEqualTo(200);
            long start = System.nanoTime();

            sluice.instance().drain("test");

            idle.awaitClosed(AWAIT);
            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("closed after the idle grace, long before the timeout")
                    .isLessThan(Duration.ofSeconds(5));
            assertThat(stopped.cut()).isZero();
            assertThat(stopped.summary()).contains("0 requests in flight and 1 client connections open");
        }
    }

    @Test
    void configChangesAreRefusedWhileDraining() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "ok"));
             InProcessSluice sluice = InProcessSluice.start(config(backend, "{ delay: 5s, timeout: 1s }"), dir,
                     Duration.ofMinutes(10))) {
            sluice.admin().post("/drain");
            sluice.writeConfig(config(backend, "{ delay: 0s, timeout: 1s }"));

            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).isEqualTo(409);
            assertThat(answer.json().path("reason").asText()).contains("draining");
            assertThat(sluice.admin().post("/drain").json().path("already_draining").asBoolean()).isTrue();
        }
    }

    private static RawResponse get(RawHttpClient client) {
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        return client.readFinalResponse(AWAIT);
    }

    private static boolean canConnect(InetSocketAddress address) {
        try (RawHttpClient ignored = RawHttpClient.connect(address)) {
            return true;
        } catch (UncheckedIOException e) {
            return false;
        }
    }
}
