package dev.sluice.apps;

import dev.sluice.config.AppConfig;
import dev.sluice.config.HostPort;
import dev.sluice.failure.FailureKind;
import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One app and its process: the {@link AppState} machine, run on a thread of the app's own
 * ({@code sluice-app-NAME}), so that starting, checking and stopping one app never waits on
 * another's, nor on an event loop, nor an event loop on it.
 *
 * <p>A start is decided by the process state alone, on that thread: a request that finds the app
 * not running queues in the hold queue and asks for a start; however many ask, the thread starts
 * the app once, because it starts only from a state with no process. How the app answers (a 502,
 * a 503, a refused connect) never reaches this class. The event loops read the state (a volatile)
 * and count requests in flight (an atomic): never a lock.
 */
public final class AppSupervisor {
    private static final Logger LOG = LoggerFactory.getLogger(AppSupervisor.class);
    /** 25 ms between readiness checks: a cold Python app takes ~0.3-1 s, so the held requests go within a check of it. */
    private static final long READY_POLL_MILLIS = 25;
    /** 5 s for an orchestrator's start API to answer the POST; its readiness is then checked as any app's. */
    private static final int START_URL_TIMEOUT_MILLIS = 5000;

    /** What a request arriving for the app may do. */
    public sealed interface Admit {
        /** The app is ready: go on (its place in flight is taken: give it back with {@link #exit}). */
        record Go() implements Admit {}

        /** Held until the app is ready, or its start fails; the waiter is told which. */
        record Held(Hold hold) implements Admit {}

        /** Refused at once: the hold queue is full ({@code overloaded}), or a crash loop's backoff runs. */
        record Refused(FailureKind kind, long retryAfterSeconds) implements Admit {}
    }

    /** A held request's place, given up when its hold times out or its client leaves. */
    public interface Hold {
        /** True when it was still waiting (the caller then answers it); false when the app already told it. */
        boolean withdraw();
    }

    private static final Admit GO = new Admit.Go();

    private final String name;
    private final AppConfig config;
    private final HostPort address;
    private final Path log;
    private final PidRecords records;
    private final LongSupplier clock;
    private final Backoff backoff;
    private final ScheduledExecutorService thread;
    private final HoldQueue hold;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean startWanted = new AtomicBoolean();

    // Written on the app's thread only; volatile for the loops and the admin API that read them.
    private volatile AppState state = AppState.STOPPED;
    private volatile AppProcess process;
    private volatile long nextStartNanos;
    private volatile int failures;
    private volatile int starts;
    private volatile OptionalInt exitCode = OptionalInt.empty();
    private volatile String lastError = "";
    private volatile List<String> lastLines = List.of();
    private volatile long lastRequestNanos;
    private long startedNanos;
    private long readyNanos;
    private boolean closing;

    AppSupervisor(String name, AppConfig config, HostPort address, Path log, PidRecords records, LongSupplier clock) {
        this.name = name;
        this.config = config;
        this.address = address;
        this.log = log;
        this.records = records;
        this.clock = clock;
        this.backoff = Backoff.of(config);
        this.hold = new HoldQueue(config.holdMax());
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-app-" + name).unstarted(r));
        this.lastRequestNanos = clock.getAsLong();
    }

    public String name() {
        return name;
    }

    public AppConfig config() {
        return config;
    }

    public HostPort address() {
        return address;
    }

    public AppState state() {
        return state;
    }

    /** True while its process lives and passed the readiness check: a failed connect then means a full accept queue. */
    public boolean running() {
        return state == AppState.READY;
    }

    /**
     * On an event loop, for each request to the app: go on, wait, or be refused. Never blocks.
     * A held request's {@code waiter} is told once, on the app's thread, how its wait ended.
     */
    public Admit admit(AppWaiter waiter) {
        if (enter()) {
            return GO;
        }
        long now = clock.getAsLong();
        AppState seen = state;
        if ((seen == AppState.EXITED || seen == AppState.CRASH_LOOP) && now < nextStartNanos) {
            return new Admit.Refused(FailureKind.APP_CRASH_LOOP, secondsUntil(nextStartNanos, now));
        }
        Optional<HoldQueue.Place> place = hold.enter(waiter);
        if (place.isEmpty()) {
            return new Admit.Refused(FailureKind.OVERLOADED, 1);
        }
        lastRequestNanos = now;
        if (state == AppState.READY) {
            // It became ready between the check and the queueing, after its queue was released.
            hold.releaseAll();
        } else {
            wantStart();
        }
        return new Admit.Held(place.get()::withdraw);
    }

    /** Takes a place in flight if the app is ready; see {@link #beginStop} for why the order matters. */
    public boolean enter() {
        inFlight.incrementAndGet();
        if (state == AppState.READY) {
            lastRequestNanos = clock.getAsLong();
            return true;
        }
        inFlight.decrementAndGet();
        return false;
    }

    /** A request admitted by {@link #enter} ended. */
    public void exit() {
        lastRequestNanos = clock.getAsLong();
        inFlight.decrementAndGet();
    }

    /** Asks the app's thread for a start, once however many requests ask before it runs. */
    private void wantStart() {
        if (startWanted.compareAndSet(false, true)) {
            execute(this::startIfWanted);
        }
    }

    private void execute(Runnable task) {
        try {
            thread.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // Closing: the held requests are refused by close().
        }
    }

    /** On the app's thread: starts the app if it has no process and requests wait for it. */
    private void startIfWanted() {
        startWanted.set(false);
        if (hold.size() == 0 || closing) {
            return;
        }
        switch (state) {
            case READY -> hold.releaseAll();
            case STARTING, STOPPING -> { } // The start or the stop in progress sees the queue when it ends.
            case STOPPED, EXITED, CRASH_LOOP -> {
                long wait = nextStartNanos - clock.getAsLong();
                if (wait > 0) {
                    hold.refuseAll(FailureKind.APP_CRASH_LOOP, secondsUntil(nextStartNanos, clock.getAsLong()));
                } else {
                    start("a request");
                }
            }
        }
    }

    /** On the app's thread, from a state without a process. */
    private void start(String why) {
        long now = clock.getAsLong();
        startedNanos = now;
        starts++;
        state = AppState.STARTING;
        lastError = "";
        if (!config.runsCommand()) {
            LOG.info("app {}: starting (POST {}) for {}", name, config.startUrl().orElseThrow(), why);
            Optional<String> refused = postStart();
            if (refused.isPresent()) {
                failed(refused.get(), OptionalInt.empty());
                return;
            }
            pollReadiness(null);
            return;
        }
        AppProcess started;
        try {
            started = AppProcess.start(config, address.port(), log);
        } catch (IOException e) {
            failed("cannot run " + config.command().get(0) + ": " + e.getMessage(), OptionalInt.empty());
            return;
        }
        process = started;
        records.write(name, started.pid(), started.startTicks(), config.command());
        LOG.info("app {}: started pid {} on {} for {} (start {})", name, started.pid(), address, why, starts);
        started.onExit().whenComplete((p, e) -> execute(() -> exited(started)));
        pollReadiness(started);
    }

    /** The start of an app something else runs: a POST to its {@code start_url}. Empty when accepted. */
    private Optional<String> postStart() {
        try {
            HttpURLConnection post = (HttpURLConnection) config.startUrl().orElseThrow().toURL().openConnection();
            post.setRequestMethod("POST");
            post.setConnectTimeout(START_URL_TIMEOUT_MILLIS);
            post.setReadTimeout(START_URL_TIMEOUT_MILLIS);
            post.setDoOutput(true);
            try (OutputStream body = post.getOutputStream()) {
                body.write(new byte[0]);
            }
            int status = post.getResponseCode();
            post.disconnect();
            return status < 300 ? Optional.empty() : Optional.of("start_url answered " + status);
        } catch (IOException | RuntimeException e) {
            return Optional.of("start_url failed: " + e);
        }
    }

    /** On the app's thread: one readiness check of {@code run} (null: an app started through its URL), then the next. */
    private void pollReadiness(AppProcess run) {
        if (state != AppState.STARTING || process != run) {
            return;
        }
        if (ReadinessCheck.passes(address.host(), address.port(), config.readyPath())) {
            readyNanos = clock.getAsLong();
            // Idle is counted from when it could first serve: a slow start is not idleness.
            lastRequestNanos = readyNanos;
            state = AppState.READY;
            LOG.info("app {}: ready after {} ms", name, (readyNanos - startedNanos) / 1_000_000);
            hold.releaseAll();
            scheduleIdleCheck(config.idleStop().map(d -> d.toNanos()).orElse(0L));
            return;
        }
        if (clock.getAsLong() - startedNanos >= config.readyTimeout().toNanos()) {
            String why = "not ready within " + config.readyTimeout().toSeconds() + "s (GET " + config.readyPath() + ")";
            if (run != null) {
                state = AppState.STOPPING;
                run.stop(config.stopGrace().toMillis());
            }
            failed(why, run == null || run.alive() ? OptionalInt.empty() : OptionalInt.of(run.exitCode()));
            return;
        }
        thread.schedule(() -> pollReadiness(run), READY_POLL_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** On the app's thread: a process of the app exited. */
    private void exited(AppProcess run) {
        records.remove(name, run.pid());
        run.killLeftovers();
        if (process != run) {
            return;
        }
        process = null;
        exitCode = OptionalInt.of(run.exitCode());
        lastLines = run.lastLines();
        if (state == AppState.STOPPING) {
            return; // stop() is waiting for it and sets the state.
        }
        String why = state == AppState.STARTING ? "exited with " + run.exitCode() + " before it was ready"
                : "exited with " + run.exitCode();
        if (state == AppState.READY && clock.getAsLong() - readyNanos >= backoff.resetAfter().toNanos()) {
            // A long run: a fresh start, not one more failure in a row.
            failures = 0;
        }
        failed(why, exitCode);
    }

    /** On the app's thread: the run failed. The held requests are refused; the next start waits for the backoff. */
    private void failed(String why, OptionalInt code) {
        process = null;
        failures++;
        exitCode = code.isPresent() ? code : exitCode;
        lastError = why;
        long now = clock.getAsLong();
        nextStartNanos = backoff.nextStartNanos(now, failures);
        state = failures >= 2 ? AppState.CRASH_LOOP : AppState.EXITED;
        LOG.warn("app {}: {} ({} failure(s) in a row; next start in {} ms){}", name, why, failures,
                Math.max(0, nextStartNanos - now) / 1_000_000,
                lastLines.isEmpty() ? "" : "; last output:\n  " + String.join("\n  ", lastLines));
        hold.refuseAll(FailureKind.APP_CRASH_LOOP, secondsUntil(nextStartNanos, now));
        if (config.start() == AppConfig.StartMode.ALWAYS && !closing) {
            thread.schedule(() -> {
                if (!closing && (state == AppState.EXITED || state == AppState.CRASH_LOOP)) {
                    start("start: always");
                }
            }, Math.max(0, nextStartNanos - now), TimeUnit.NANOSECONDS);
        }
    }

    /** On the app's thread: stop the app if it has been idle for {@code idle_stop}, else look again when it could be. */
    private void scheduleIdleCheck(long idleNanos) {
        if (idleNanos <= 0) {
            return;
        }
        long due = lastRequestNanos + idleNanos - clock.getAsLong();
        thread.schedule(() -> {
            if (state != AppState.READY) {
                return;
            }
            long idleFor = clock.getAsLong() - lastRequestNanos;
            if (idleFor >= idleNanos && beginStop()) {
                LOG.info("app {}: no request for {} s; stopping it", name, idleFor / 1_000_000_000);
                finishStop("idle for " + config.idleStop().orElseThrow().toSeconds() + "s");
            } else {
                scheduleIdleCheck(idleNanos);
            }
        }, Math.max(due, idleNanos / 10), TimeUnit.NANOSECONDS);
    }

    /**
     * On the app's thread: READY → STOPPING unless a request is in flight. The state is written
     * before the count is read, and {@link #enter} counts before it reads the state, so either the
     * request sees STOPPING (and is held) or this sees the request (and the app stays).
     */
    private boolean beginStop() {
        state = AppState.STOPPING;
        if (inFlight.get() > 0) {
            state = AppState.READY;
            return false;
        }
        return true;
    }

    /** On the app's thread, in STOPPING: the process is stopped (SIGTERM, {@code stop_grace}, SIGKILL). */
    private void finishStop(String why) {
        AppProcess run = process;
        if (run != null) {
            run.stop(config.stopGrace().toMillis());
            records.remove(name, run.pid());
            exitCode = run.alive() ? exitCode : OptionalInt.of(run.exitCode());
            lastLines = run.lastLines();
        }
        process = null;
        lastError = "stopped: " + why;
        state = AppState.STOPPED;
        LOG.info("app {}: stopped ({})", name, why);
        if (hold.size() > 0 && !closing) {
            // Requests came while it stopped: they start it again, as any request to a stopped app does.
            start("requests that came while it stopped");
        }
    }

    /** {@code start: always}: start now, on the app's thread. */
    void startAtBoot() {
        execute(() -> {
            if (state == AppState.STOPPED && !closing) {
                start("start: always");
            }
        });
    }

    /** {@code POST /apps/NAME/start}: start it now if it has no process, the backoff notwithstanding (an operator asked). */
    public CompletableFuture<AppStatus> start() {
        return onThread(() -> {
            if (!state.processAlive() && !closing) {
                start("POST /apps/" + name + "/start");
            }
        });
    }

    /** {@code POST /apps/NAME/stop}: stop its process; requests that come later start it again. */
    public CompletableFuture<AppStatus> stop() {
        return onThread(() -> stopNow("POST /apps/" + name + "/stop"));
    }

    /** {@code POST /apps/NAME/restart}: stop, then start. */
    public CompletableFuture<AppStatus> restart() {
        return onThread(() -> {
            stopNow("POST /apps/" + name + "/restart");
            if (!closing && state == AppState.STOPPED) {
                start("POST /apps/" + name + "/restart");
            }
        });
    }

    private void stopNow(String why) {
        if (state.processAlive() || (!config.runsCommand() && state == AppState.READY)) {
            state = AppState.STOPPING;
            finishStop(why);
        }
    }

    private CompletableFuture<AppStatus> onThread(Runnable action) {
        CompletableFuture<AppStatus> done = new CompletableFuture<>();
        try {
            thread.execute(() -> {
                try {
                    action.run();
                    done.complete(status());
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.complete(status());
        }
        return done;
    }

    /** Waits, off the event loops, until the app is ready or its start failed; true when ready. */
    boolean awaitReady(long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        while (System.nanoTime() < deadline) {
            AppState s = state;
            if (s == AppState.READY) {
                return true;
            }
            if (s == AppState.EXITED || s == AppState.CRASH_LOOP) {
                return false;
            }
            try {
                Thread.sleep(READY_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return state == AppState.READY;
    }

    /**
     * Stops the app (SIGTERM, {@code stop_grace}, SIGKILL) and its thread; held requests are
     * refused. Blocks until done: Sluice's drain calls it once requests in flight have ended.
     */
    public void close() {
        CompletableFuture<AppStatus> stopped = onThread(() -> {
            closing = true;
            stopNow("Sluice is stopping");
            hold.refuseAll(FailureKind.APP_STARTING_TIMEOUT, 1);
        });
        try {
            stopped.get(config.stopGrace().toMillis() + 10_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("app {}: did not stop in time: {}", name, e.toString());
        }
        thread.shutdownNow();
    }

    public AppStatus status() {
        AppProcess run = process;
        long now = clock.getAsLong();
        AppState s = state;
        long nextStart = (s == AppState.EXITED || s == AppState.CRASH_LOOP) ? Math.max(0, nextStartNanos - now) / 1_000_000 : 0;
        List<String> lines = run != null ? run.lastLines() : lastLines;
        return new AppStatus(name, s, address.toString(), run == null ? OptionalLong.empty() : OptionalLong.of(run.pid()),
                starts, failures, exitCode, nextStart, hold.size(), inFlight.get(), lastError,
                config.runsCommand() ? log.toString() : "", lines);
    }

    private static long secondsUntil(long when, long now) {
        return Math.max(1, (when - now + 999_999_999L) / 1_000_000_000L);
    }
}
