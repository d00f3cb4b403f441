package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice run} stopped with SIGTERM under steady keep-alive load, as a Kubernetes rolling
 * update stops a pod: no request the clients sent before the listener closed fails, and the
 * process exits 0 within delay + timeout.
 */
class SigtermUnderLoadTest {
    private static final Duration DELAY = Duration.ofMillis(300);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private Path config(CountingBackend backend) throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, backend.childConfig("/").replace("drain: { delay: 0s, timeout: 2s }",
                "drain: { delay: %dms, timeout: %ds }".formatted(DELAY.toMillis(), TIMEOUT.toSeconds())));
        return file;
    }

    @Test
    void clientsBehindABalancerThatWatchesReadinessSeeNoFailedRequest() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             ChildSluice sluice = ChildSluice.start(dir, "run", "-c", config(backend).toString(), "--state-dir",
                     dir.resolve("state").toString())) {
            InetSocketAddress listener = sluice.awaitStarted(Duration.ofSeconds(30));
            AdminHttp admin = sluice.admin();
            // The balancer: health-checks /ready every 20 ms, opens new connections only while it is 200.
            AtomicBoolean ready = new AtomicBoolean(true);
            Thread balancer = Thread.ofVirtual().start(() -> {
                while (ready.get()) {
                    if (admin.readyStatus() != 200) {
                        ready.set(false);
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
                }
            });
            SteadyLoad load = SteadyLoad.start(listener, 16, ready::get, "/");
            Await.until(Duration.ofSeconds(10), () -> load.responses() > 500, "steady traffic");
            long beforeSigterm = load.responses();
            long sentAt = System.nanoTime();

            sluice.terminate();

            int exit = sluice.awaitExit(DELAY.plus(TIMEOUT).plusSeconds(5));
            Duration took = Duration.ofNanos(System.nanoTime() - sentAt);
            load.stop();
            balancer.join(Duration.ofSeconds(5));
            assertThat(exit).isZero();
            assertThat(took).isLessThan(DELAY.plus(TIMEOUT).plusSeconds(2));
            assertThat(load.failures()).as(() -> describe(load, sentAt, sluice)).isEmpty();
            assertThat(load.non200()).isEmpty();
            assertThat(load.responses()).as("served through the delay").isGreaterThan(beforeSigterm);
            // The pipe may still hold the last lines when the exit code is in.
            sluice.awaitLog(Duration.ofSeconds(5), "draining (SIGTERM)");
            assertThat(sluice.awaitLog(Duration.ofSeconds(5), "drained in")).endsWith("all finished, 0 cut");
        }
    }

    private static String describe(SteadyLoad load, long sigtermNanos, ChildSluice sluice) {
        StringBuilder b = new StringBuilder("failures, sent at ms after SIGTERM:\n");
        load.failures().forEach(f -> b.append("  ").append((f.sentNanos() - sigtermNanos) / 1_000_000).append(" ms, ")
                .append(f.kind()).append(", after ").append(f.requestsBefore()).append(" on its connection\n"));
        return b.append(sluice.stderrText()).toString();
    }

    @Test
    void clientsThatReconnectBlindlyOnlySeeRefusedConnectionsNeverAFailedRequest() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             ChildSluice sluice = ChildSluice.start(dir, "run", "-c", config(backend).toString(), "--state-dir",
                     dir.resolve("state").toString())) {
            InetSocketAddress listener = sluice.awaitStarted(Duration.ofSeconds(30));
            SteadyLoad load = SteadyLoad.start(listener, 16, "/");
            Await.until(Duration.ofSeconds(10), () -> load.responses() > 500, "steady traffic");
            long sentAt = System.nanoTime();

            sluice.terminate();

            assertThat(sluice.awaitExit(DELAY.plus(TIMEOUT).plusSeconds(5))).isZero();
            load.stop();
            // Listeners close before connections are told to close, so nobody is mid-reconnect when they do.
            assertThat(load.failures()).as(() -> describe(load, sentAt, sluice)).isEmpty();
            assertThat(load.non200()).isEmpty();
            assertThat(load.refusedConnects()).as("reconnects after the listener closed").isPositive();
        }
    }
}
