package dev.sluice.canary;

import dev.sluice.canary.CanaryJudge.Judgement;
import dev.sluice.canary.CanaryJudge.Window;
import dev.sluice.config.CanaryConfig;
import dev.sluice.route.Split;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One route's canary: which step it is at, since when, and what each step came to. Stepped by
 * {@link Canaries} on its thread only; {@link #step} decides and returns what to do as a value.
 */
final class CanaryRun {
    /** Where a run stands. */
    enum Status {
        /** The canary's weight is 0 and nothing moves it: not started (a run that ended and is held shows how it ended). */
        IDLE,
        RUNNING,
        PROMOTED,
        ROLLED_BACK,
        ABORTED;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean ended() {
            return this == PROMOTED || this == ROLLED_BACK || this == ABORTED;
        }

        /** The ended status labelled {@code label}, if it is one. */
        static Optional<Status> ended(String label) {
            for (Status s : values()) {
                if (s.ended() && s.label().equals(label)) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }
    }

    /** What a step of the analysis decided. */
    sealed interface Decision {
        /** The interval is not over: look again after {@code left}. */
        record Hold(Duration left) implements Decision {}

        /** Passed: the canary goes to {@code weight}. */
        record Advance(int weight, String why) implements Decision {}

        /** Passed the last step: the canary takes everything. */
        record Promote(String why) implements Decision {}

        /** Failed: the canary goes to 0 at once. */
        record RollBack(String why) implements Decision {}
    }

    /**
     * One judged step, for {@code GET /canaries} and the dashboard: which step (1-based) at which
     * weight, held from {@code startedAt} to {@code at}, and its verdict with the figures.
     */
    record Judged(int step, Instant startedAt, Instant at, int weight, Judgement judgement) {
        boolean passed() {
            return judgement instanceof Judgement.Pass;
        }
    }

    final String route;
    final CanaryConfig config;
    private Split split;
    private Status status;
    private int stepIndex;
    private Instant stepStartedAt;
    private Window canaryAtStart = Window.EMPTY;
    private Window stableAtStart = Window.EMPTY;
    private final List<Judged> judged = new ArrayList<>();
    private String endedBecause = "";
    private Optional<Instant> endedAt = Optional.empty();
    private Optional<Integer> recordedVersion = Optional.empty();
    /** A run shown again after a restart: the steps judged before it, as they were shown. */
    private List<Map<String, Object>> judgedBefore = List.of();

    /** A run as the route's weights stand: 0 idle, 100 promoted, a step running from there. */
    CanaryRun(String route, Split split, Instant now, Window canaryTotals, Window stableTotals) {
        this.route = route;
        this.split = split;
        this.config = split.config().canary().orElseThrow();
        int weight = split.canaryWeight().orElseThrow();
        this.status = weight == 0 ? Status.IDLE : weight == 100 ? Status.PROMOTED : Status.RUNNING;
        this.stepIndex = Math.max(0, config.stepOf(weight));
        startStep(now, canaryTotals, stableTotals);
    }

    Split split() {
        return split;
    }

    Status status() {
        return status;
    }

    int weight() {
        return split.canaryWeight().orElseThrow();
    }

    /**
     * The run that ended goes on showing in the snapshot that recorded its end (the weights it
     * left, now in the config): same status, history and reason, on the new split.
     */
    boolean continuesAs(Split next) {
        return status.ended() && next.config().canary().equals(split.config().canary())
                && next.canaryWeight().equals(split.canaryWeight());
    }

    void rebind(Split next) {
        this.split = next;
    }

    private void startStep(Instant now, Window canaryTotals, Window stableTotals) {
        stepStartedAt = now;
        canaryAtStart = canaryTotals;
        stableAtStart = stableTotals;
    }

    /** At the end of a step's interval, judges it; before, says how long to wait. */
    Decision step(Instant now, Window canaryTotals, Window stableTotals) {
        if (status != Status.RUNNING) {
            return new Decision.Hold(Canaries.MOST_WAIT);
        }
        Duration left = Duration.between(now, stepStartedAt.plus(config.interval()));
        if (left.isPositive()) {
            return new Decision.Hold(left);
        }
        Judgement judgement = CanaryJudge.judge(config, canaryTotals.minus(canaryAtStart),
                stableTotals.minus(stableAtStart));
        int weight = weight();
        judged.add(new Judged(stepIndex + 1, stepStartedAt, now, weight, judgement));
        String at = "step " + (stepIndex + 1) + " of " + config.steps().size() + " (" + weight + "%)";
        if (judgement instanceof Judgement.Fail) {
            return new Decision.RollBack(at + " failed: " + judgement.text());
        }
        int next = stepIndex + 1;
        if (next >= config.steps().size() || config.steps().get(next) >= 100) {
            return new Decision.Promote(at + " passed: " + judgement.text() + "; every step passed");
        }
        stepIndex = next;
        startStep(now, canaryTotals, stableTotals);
        return new Decision.Advance(config.steps().get(next), at + " passed: " + judgement.text());
    }

    /** The canary's weight went to {@code how}'s for good, at {@code at}: the run has ended so. */
    void ended(Status how, String why, Optional<Instant> at) {
        status = how;
        endedBecause = why;
        endedAt = at;
    }

    /** Its end was recorded as {@code version} (empty: it could not be). */
    void recorded(Optional<Integer> version) {
        recordedVersion = version;
    }

    /** How it ended, to be held with its weights. */
    Canaries.Held held() {
        return new Canaries.Held(status.label(), endedAt, endedBecause, recordedVersion, judgedJson());
    }

    /**
     * A run that ended before a restart, held at the weight it ended at (which this run's split
     * has): shown as it was, unless {@code held} says another end than that weight.
     */
    void restore(Canaries.Held held) {
        Optional<Status> how = Status.ended(held.status());
        int weight = weight();
        if (how.isEmpty() || (how.get() == Status.PROMOTED ? weight != 100 : weight != 0)) {
            return;
        }
        ended(how.get(), held.why(), held.at());
        recorded(held.version());
        judgedBefore = List.copyOf(held.judged());
    }

    /** For {@code GET /canaries}, {@code /status} and the dashboard. */
    Map<String, Object> toJson(Instant now) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("route", route);
        json.put("canary", config.cluster());
        json.put("stable", split.config().stableBackend().orElseThrow().cluster());
        json.put("status", status.label());
        json.put("weight", weight());
        json.put("steps", config.steps());
        json.put("step", status == Status.RUNNING ? stepIndex + 1 : null);
        json.put("interval_ms", config.interval().toMillis());
        if (status == Status.RUNNING) {
            json.put("step_started_at", stepStartedAt.toString());
            json.put("next_judgement_in_ms",
                    Math.max(0, Duration.between(now, stepStartedAt.plus(config.interval())).toMillis()));
        }
        json.put("ended_because", endedBecause.isEmpty() ? null : endedBecause);
        json.put("ended_at", endedAt.map(Instant::toString).orElse(null));
        json.put("recorded_version", recordedVersion.orElse(null));
        json.put("thresholds", thresholds());
        json.put("judged", judgedJson());
        return json;
    }

    /** Each judged step, those shown before a restart first. */
    private List<Map<String, Object>> judgedJson() {
        List<Map<String, Object>> steps = new ArrayList<>(judgedBefore);
        judged.forEach(j -> steps.add(toJson(j)));
        return steps;
    }

    /** What each step is held to, as the config names it. */
    private Map<String, Object> thresholds() {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("min_requests", config.minRequests());
        t.put("max_error_ratio_increase", config.maxErrorRatioIncrease());
        t.put("latency_percentile", config.latencyPercentile());
        t.put("latency_max_factor", config.maxLatencyFactor());
        t.put("latency_min_increase_ms", config.minLatencyIncrease().toMillis());
        return t;
    }

    private static Map<String, Object> toJson(Judged j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", j.step());
        m.put("weight", j.weight());
        m.put("started_at", j.startedAt().toString());
        m.put("at", j.at().toString());
        m.put("passed", j.passed());
        m.put("missed", j.judgement() instanceof Judgement.Fail f ? f.missed().label() : null);
        m.put("text", j.judgement().text());
        CanaryJudge.Analysis a = j.judgement().analysis();
        m.put("canary", side(a.canaryRequests(), a.canaryErrorRatio(), a.canaryLatencyNanos()));
        m.put("stable", side(a.stableRequests(), a.stableErrorRatio(), a.stableLatencyNanos()));
        m.put("latency_percentile", a.percentile());
        return m;
    }

    private static Map<String, Object> side(long requests, double errorRatio, long latencyNanos) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", requests);
        m.put("error_ratio", errorRatio);
        m.put("latency_ms", latencyNanos / 1e6);
        return m;
    }
}
