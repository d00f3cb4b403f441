package dev.sluice.server;

import dev.sluice.config.DrainConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graceful shutdown of the gateway, on a thread of its own (never an event loop):
 *
 * <ol>
 *   <li>at once, {@code /ready} answers 503 ({@link #started()}), so load balancers and
 *       orchestrators stop sending new connections;
 *   <li>for {@code drain.delay} everything is served as usual, while they notice;
 *   <li>the listeners close, then every response carries {@code Connection: close} and ends its
 *       connection ({@link Gateway#drainOnNextResponse()}). The listeners close first so that no
 *       client is busy reconnecting while they do: a connection the kernel accepted but Sluice had
 *       not yet would be reset;
 *   <li>connections still idle after {@link #IDLE_GRACE} are closed (and again each grace);
 *   <li>requests in flight finish, up to {@code drain.timeout}; the rest are then cut.
 * </ol>
 *
 * A second signal ({@link #hurry()}) skips what is left of the delay and of the timeout.
 */
public final class Drain {
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);
    /**
     * 1 s: a connection carrying a steady stream of requests gets its {@code Connection: close}
     * within a round trip, so one still open and idle after a second is idle in fact. Closing an
     * idle connection at once would race with a request its client already sent (lost to a reset).
     */
    public static final Duration IDLE_GRACE = Duration.ofSeconds(1);
    /** How often the drain thread looks at the in-flight count; the data plane is never blocked by it. */
    private static final long POLL_MILLIS = 10;

    /** What the drain saw; {@code cut} is filled in by whoever closes the gateway afterwards. */
    public record Report(String reason, Duration delay, Duration took, int connectionsAtClose, int inFlightAtClose,
                  int stillInFlight, boolean hurried) {}

    private final Gateway gateway;
    private final LongSupplier nanoClock;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CountDownLatch hurry = new CountDownLatch(1);
    private final CompletableFuture<Report> done = new CompletableFuture<>();

    public Drain(Gateway gateway, LongSupplier nanoClock) {
        this.gateway = gateway;
        this.nanoClock = nanoClock;
    }

    /** Starts draining with {@code config}; false if a drain already started (it carries on unchanged). */
    public boolean begin(String reason, DrainConfig config) {
        if (!started.compareAndSet(false, true)) {
            return false;
        }
        Thread.ofPlatform().name("sluice-drain").daemon(false).start(() -> {
            try {
                done.complete(run(reason, config));
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return true;
    }

    public boolean started() {
        return started.get();
    }

    /** Skips what is left of the delay and the timeout: a second SIGTERM, or an impatient operator. */
    public void hurry() {
        hurry.countDown();
    }

    public CompletableFuture<Report> done() {
        return done;
    }

    private Report run(String reason, DrainConfig config) throws InterruptedException {
        long start = nanoClock.getAsLong();
        LOG.info("draining ({}): /ready answers 503; serving {} ms more so load balancers stop sending, then up to {} ms "
                        + "for requests in flight", reason, config.delay().toMillis(), config.timeout().toMillis());
        // The delay is the point of this step, not a synchronisation: traffic keeps flowing meanwhile.
        boolean hurried = hurry.await(config.delay().toNanos(), TimeUnit.NANOSECONDS);
        int connections = gateway.openClientConnections();
        int inFlight = gateway.activeExchanges();
        gateway.closeListeners();
        gateway.drainOnNextResponse();
        long closedAt = nanoClock.getAsLong();
        long deadline = closedAt + config.timeout().toNanos();
        long closeIdleAt = closedAt + IDLE_GRACE.toNanos();
        while (!hurried && (gateway.activeExchanges() > 0 || gateway.openClientConnections() > 0)) {
            long now = nanoClock.getAsLong();
            if (now - deadline >= 0) {
                break;
            }
            if (now - closeIdleAt >= 0) {
                // Again each grace: a long response that started as keep-alive leaves its connection idle later.
                gateway.closeIdleClientConnections();
                closeIdleAt = now + IDLE_GRACE.toNanos();
            }
            hurried = hurry.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
        return new Report(reason, config.delay(), Duration.ofNanos(nanoClock.getAsLong() - start), connections, inFlight,
                gateway.activeExchanges(), hurried);
    }
}
