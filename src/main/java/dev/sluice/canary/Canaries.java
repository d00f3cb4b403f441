package dev.sluice.canary;

import dev.sluice.canary.CanaryJudge.Window;
import dev.sluice.canary.CanaryRun.Decision;
import dev.sluice.canary.CanaryRun.Status;
import dev.sluice.observe.ClusterTallies;
import dev.sluice.route.Route;
import dev.sluice.route.Split;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The canaries of the running config, stepped on a thread of their own ({@code sluice-canary}),
 * never on an event loop: at the end of each step's interval, a run compares its route's canary
 * with the stable (from {@link ClusterTallies}, per cluster and route) and moves the canary's
 * weight ({@link Split#setCanaryWeight}: the next request sees it). A rollback or a promotion is
 * then recorded as a config version with the new weights, and a rollback opens an incident, both
 * through {@link Outcomes}. An operator's promote or abort goes through the same thread.
 */
public final class Canaries implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Canaries.class);
    /**
     * 1 s: the longest the thread sleeps between looks. A config swapped in by the control plane
     * wakes it at once ({@link #swapped}); this bounds only what nobody reports.
     */
    static final Duration MOST_WAIT = Duration.ofSeconds(1);
    /** 5 ms: a judgement due now waits for nothing else, without spinning. */
    static final Duration LEAST_WAIT = Duration.ofMillis(5);

    /** What the canaries read of the running instance. */
    public interface Sources {
        /** The running snapshot's routes. */
        List<Route> routes();

        /** Every cluster's totals so far, with their per-route counts. */
        Map<String, ClusterTallies.Totals> totals();

        /**
         * How route {@code route}'s canary's run ended, when its weights are held at that end over
         * later configs (reloads and restarts): the same canary in the running config.
         */
        Optional<Held> held(String route);
    }

    /**
     * How a run ended, as {@code GET /canaries} shows it: kept by the instance with the weights it
     * ended at, so that a restart shows the run as it was.
     *
     * @param status {@code rolled_back}, {@code aborted} or {@code promoted}
     * @param at when the canary's weight moved (empty: not known, a hold kept before the time was)
     * @param why what the version's source says
     * @param version the version that recorded it, once recorded
     * @param judged its judged steps, as {@code GET /canaries} lists them
     */
    public record Held(String status, Optional<Instant> at, String why, Optional<Integer> version,
                       List<Map<String, Object>> judged) {}

    /** Where a canary's end is recorded. */
    public interface Outcomes {
        /**
         * Records route {@code route}'s weights for good, as a new config version whose source is
         * {@code end}'s {@code why}, held with {@code end} over later configs; the version's number,
         * or empty when it could not be recorded (logged).
         */
        Optional<Integer> record(String route, Map<String, Integer> weights, Held end);

        /**
         * An operator resumed route {@code route}'s canary at {@code weights} (its first step):
         * recorded as a version, and the weights its run ended at no longer held against the
         * config; the version's number, or empty when it was refused (logged).
         */
        Optional<Integer> resume(String route, Map<String, Integer> weights, String why);

        /** A rollback by the analysis: an incident and its alert. */
        void rolledBack(String what, Optional<Integer> version);
    }

    /** An operator's request, answered: the HTTP status and what to say. */
    public record Answer(int status, Map<String, Object> body) {}

    private final Sources sources;
    private final Outcomes outcomes;
    private final Clock clock;
    private final ScheduledExecutorService thread;
    /** By route name; read and written on the canary thread only. */
    private final Map<String, CanaryRun> runs = new LinkedHashMap<>();
    private volatile List<Map<String, Object>> shown = List.of();
    /** When the config about to serve, or serving, was applied: a new run's first step starts then. */
    private volatile Instant swappedAt;
    /** The next look; on the canary thread only. */
    private ScheduledFuture<?> next;

    private Canaries(Sources sources, Outcomes outcomes, Clock clock) {
        this.sources = sources;
        this.outcomes = outcomes;
        this.clock = clock;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-canary").unstarted(r));
    }

    public static Canaries start(Sources sources, Outcomes outcomes, Clock clock) {
        Canaries canaries = new Canaries(sources, outcomes, clock);
        canaries.thread.execute(canaries::tick);
        return canaries;
    }

    private void tick() {
        Duration wait = MOST_WAIT;
        try {
            wait = step(clock.instant());
        } catch (RuntimeException e) {
            // A bug here must not stop every canary for good.
            LOG.error("canary step failed", e);
        }
        if (next != null) {
            next.cancel(false);
        }
        if (!thread.isShutdown()) {
            next = thread.schedule(this::tick, Math.max(LEAST_WAIT.toMillis(), wait.toMillis()), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A config applied {@code at} is about to be swapped in: a run it starts begins its first step
     * then, the time its version says, so the step's interval counts from the reload that deployed it.
     */
    public void swapping(Instant at) {
        swappedAt = at;
    }

    /** The config swapped in serves: a look now, so a run it starts takes its totals from now, not a tick later. */
    public void swapped() {
        try {
            thread.execute(this::tick);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // Closed: no more looks.
        }
    }

    /** One pass over the routes: runs started, judged and moved; returns how long until the next is due. */
    Duration step(Instant now) {
        Map<String, ClusterTallies.Totals> totals = sources.totals();
        Duration wait = MOST_WAIT;
        Set<String> present = new HashSet<>();
        for (Route route : sources.routes()) {
            Optional<Split> split = route.split().filter(s -> s.config().canary().isPresent());
            if (split.isEmpty()) {
                continue;
            }
            present.add(route.name());
            CanaryRun run = runFor(route.name(), split.get(), now, totals);
            Decision decision = run.step(now, window(totals, run.config.cluster(), route.name()),
                    window(totals, stableOf(run), route.name()));
            if (decision instanceof Decision.Hold hold) {
                wait = hold.left().compareTo(wait) < 0 ? hold.left() : wait;
            } else {
                act(run, decision, now);
                wait = LEAST_WAIT;
            }
        }
        runs.keySet().retainAll(present);
        shown = runs.values().stream().map(r -> shown(r, now)).toList();
        return wait;
    }

    private CanaryRun runFor(String route, Split split, Instant now, Map<String, ClusterTallies.Totals> totals) {
        CanaryRun run = runs.get(route);
        if (run != null && run.split() == split) {
            return run;
        }
        if (run != null && run.continuesAs(split)) {
            run.rebind(split);
            return run;
        }
        String canary = split.config().canary().orElseThrow().cluster();
        String stable = split.config().stableBackend().orElseThrow().cluster();
        Instant swapped = swappedAt;
        run = new CanaryRun(route, split, swapped == null ? now : swapped, window(totals, canary, route),
                window(totals, stable, route));
        if (run.status() != Status.RUNNING) {
            sources.held(route).ifPresent(run::restore);
        }
        runs.put(route, run);
        if (run.status() == Status.RUNNING) {
            LOG.info("route {}: canary {} starts at {}% (steps {}, each held {} ms)", route, canary, run.weight(),
                    run.config.steps(), run.config.interval().toMillis());
        }
        return run;
    }

    private static String stableOf(CanaryRun run) {
        return run.split().config().stableBackend().orElseThrow().cluster();
    }

    private static Window window(Map<String, ClusterTallies.Totals> totals, String cluster, String route) {
        ClusterTallies.Totals t = totals.get(cluster);
        return t == null ? Window.EMPTY : Window.of(t.routes().get(route));
    }

    private void act(CanaryRun run, Decision decision, Instant now) {
        String canary = run.config.cluster();
        switch (decision) {
            case Decision.Hold hold -> { }
            case Decision.Advance advance -> {
                run.split().setCanaryWeight(advance.weight());
                LOG.info("route {}: canary {} {}; now at {}%", run.route, canary, advance.why(), advance.weight());
            }
            case Decision.Promote promote -> end(run, Status.PROMOTED, 100, "canary " + canary + " promoted on route "
                    + run.route + ": " + promote.why(), now);
            case Decision.RollBack rollBack -> end(run, Status.ROLLED_BACK, 0, "canary " + canary
                    + " rolled back on route " + run.route + ": " + rollBack.why(), now);
        }
    }

    /** The weight moves at once; then it is recorded as a version (which takes a reload's time). */
    private void end(CanaryRun run, Status how, int weight, String why, Instant at) {
        run.split().setCanaryWeight(weight);
        if (how == Status.PROMOTED) {
            LOG.info("{}", why);
        } else {
            LOG.warn("{}", why);
        }
        run.ended(how, why, Optional.of(at));
        Map<String, Integer> weights = Map.of(run.config.cluster(), weight, stableOf(run), 100 - weight);
        Optional<Integer> version = outcomes.record(run.route, weights, run.held());
        run.recorded(version);
        if (how == Status.ROLLED_BACK) {
            outcomes.rolledBack(why, version);
        }
    }

    /** A run as {@code GET /canaries} shows it, with why its weights are held when they are. */
    private Map<String, Object> shown(CanaryRun run, Instant now) {
        Map<String, Object> json = run.toJson(now);
        if (run.status() != Status.RUNNING) {
            sources.held(run.route).ifPresent(held -> json.put("held_because", held.why()));
        }
        return json;
    }

    /** {@code GET /canaries}: every canary route's run, as of the last step. */
    public List<Map<String, Object>> toJson() {
        return shown;
    }

    /** {@code POST /canaries/ROUTE/promote}: the canary takes everything now, recorded as a version. */
    public Answer promote(String route) {
        return onThread(route, run -> {
            if (run.weight() == 100) {
                return new Answer(409, Map.of("route", route, "reason", "the canary already takes every request"));
            }
            end(run, Status.PROMOTED, 100, "canary " + run.config.cluster() + " promoted on route " + route
                    + " by an operator, at " + run.weight() + "%", clock.instant());
            return new Answer(200, run.toJson(clock.instant()));
        });
    }

    /** {@code POST /canaries/ROUTE/abort}: the canary's weight goes to 0 now, recorded as a version; no incident. */
    public Answer abort(String route) {
        return onThread(route, run -> {
            if (run.weight() == 0) {
                return new Answer(409, Map.of("route", route, "reason", "the canary takes no requests already"));
            }
            end(run, Status.ABORTED, 0, "canary " + run.config.cluster() + " aborted on route " + route
                    + " by an operator, at " + run.weight() + "%", clock.instant());
            return new Answer(200, run.toJson(clock.instant()));
        });
    }

    /**
     * {@code POST /canaries/ROUTE/resume}: a canary at 0 (rolled back, aborted, or not started)
     * runs again from its first step, recorded as a version; the config's canary is no longer held at 0.
     */
    public Answer resume(String route) {
        return onThread(route, run -> {
            if (run.status() == Status.RUNNING) {
                return new Answer(409, Map.of("route", route, "reason", "the canary is running already, at step "
                        + run.toJson(clock.instant()).get("step") + " (" + run.weight() + "%)"));
            }
            if (run.weight() != 0) {
                return new Answer(409, Map.of("route", route, "reason", "the canary takes every request (promoted); "
                        + "a new canary is a config change"));
            }
            int first = run.config.steps().getFirst();
            String why = "canary " + run.config.cluster() + " resumed on route " + route + " by an operator, at step 1 ("
                    + first + "%)";
            Optional<Integer> version = outcomes.resume(route, Map.of(run.config.cluster(), first, stableOf(run),
                    100 - first), why);
            if (version.isEmpty()) {
                return new Answer(500, Map.of("route", route, "reason", "the config with the canary at " + first
                        + "% was refused; see the log"));
            }
            LOG.info("{}; recorded as config version {}", why, version.get());
            step(clock.instant());
            CanaryRun resumed = runs.get(route);
            if (resumed == null) {
                return new Answer(500, Map.of("route", route, "reason", "the route has no canary now"));
            }
            Map<String, Object> answer = new LinkedHashMap<>(resumed.toJson(clock.instant()));
            answer.put("recorded_version", version.get());
            return new Answer(200, answer);
        });
    }

    private Answer onThread(String route, java.util.function.Function<CanaryRun, Answer> action) {
        try {
            return thread.submit(() -> {
                step(clock.instant());
                CanaryRun run = runs.get(route);
                if (run == null) {
                    boolean exists = sources.routes().stream().anyMatch(r -> r.name().equals(route));
                    return new Answer(404, Map.of("route", route, "reason", (exists ? "route '" + route
                            + "' has no canary (no `canary:` on its backends)" : "no route '" + route + "'")
                            + "; canary routes: " + new ArrayList<>(runs.keySet())));
                }
                Answer answer = action.apply(run);
                shown = runs.values().stream().map(r -> shown(r, clock.instant())).toList();
                return answer;
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(503, Map.of("reason", "interrupted"));
        } catch (ExecutionException e) {
            LOG.error("canary action on route {} failed", route, e.getCause());
            return new Answer(500, Map.of("reason", String.valueOf(e.getCause())));
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
