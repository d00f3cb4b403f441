package dev.sluice.incident;

import dev.sluice.config.ConfigVersion;
import dev.sluice.config.IncidentsConfig;
import dev.sluice.observe.ClusterTallies;
import dev.sluice.observe.ClusterTallies.Totals;
import dev.sluice.upstream.Endpoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Opens and closes incidents, one cluster at a time, from what its traffic came to: a pure step
 * ({@link #step}) that the incident watch calls about once a second with the cluster's windows
 * and its endpoints' state, and that tests call with hand-made ones.
 *
 * <p>A cluster crosses when, with at least {@code min_requests} tries in the window, its ratio of
 * failed tries is above both {@code error_ratio} and {@code over_baseline} × its baseline, or its
 * p99 latency above both {@code latency_p99} and {@code over_baseline} × its baseline p99; or when
 * one endpoint failed at least as many tries as eject it ({@link Endpoint#CONSECUTIVE_FAILURES_TO_EJECT})
 * in the last seconds, at that same ratio. The last rule is what sees a dead endpoint of a busy
 * cluster at once: its failures are a handful among thousands of good tries in the window (it is
 * ejected after five), but all of its own recent tries. The baseline is what the cluster's window
 * was, averaged over about {@link #BASELINE} and learnt only outside incidents, so an incident can
 * never talk itself into being normal; latency is judged only after {@link #LATENCY_LEARNING}. An incident closes once the cluster has stopped crossing and
 * the endpoints it named are back in rotation (not ejected, not marked down by a health check) for
 * {@code close_after}, or when a config no longer has the cluster.
 *
 * <p>Thread-safe: the watch steps it, the control plane reports rollbacks, the admin API reads it.
 */
public final class Incidents {
    /** 5 min: long enough to see a slow climb over minutes, short enough to follow a day's traffic. */
    static final Duration BASELINE = Duration.ofMinutes(5);
    /** 20 closed incidents: about a day of a bad day, what a dashboard and {@code GET /incidents} show. */
    static final int RECENT = 20;
    /**
     * 30 s of learning before latency is judged: a cluster's first seconds (cold JIT, new
     * connections, a busy host at start) are slow for reasons that are not an incident, and an
     * unlearnt baseline of 0 would let the absolute threshold alone decide.
     */
    static final Duration LATENCY_LEARNING = Duration.ofSeconds(30);
    /** A config change this long before an incident opened is named in it as "just before". */
    static final Duration CHANGE_LOOKBACK = Duration.ofMinutes(10);

    /** What one cluster looked like at a step. */
    public record ClusterSeen(String name, Totals window, Duration windowLength, Totals recent, Duration recentLength,
                              Totals sinceLastStep, List<EndpointSeen> endpoints, boolean panicking) {}

    /** @param state healthy, ejected, down, ... as /status says; {@code out}: not taking traffic */
    public record EndpointSeen(String address, String state, boolean out) {}

    /** An incident opened or closed: the log line and the alert carry it. */
    public record Notice(String event, int id, String line, Map<String, Object> incident) {}

    /** What Sluice knows of one cluster between steps. */
    private static final class Watched {
        double baselineRatio;
        long baselineP99Nanos;
        Duration learnt = Duration.ZERO;
        Incident incident;
        Instant recoveredSince;
        final Map<String, String> endpointStates = new HashMap<>();
        boolean panicking;
    }

    private final Map<String, Watched> clusters = new HashMap<>();
    /** Open incidents about where a cluster's endpoints come from, by cluster and problem. */
    private final Map<List<String>, Incident> sourceProblems = new HashMap<>();
    private final List<Incident> open = new ArrayList<>();
    private final Deque<Incident> recent = new ArrayDeque<>();
    private int nextId = 1;
    private int lastVersion = -1;
    private Instant lastStep;

    /**
     * One step at {@code now}: each cluster's traffic judged, incidents opened, updated, closed.
     * Returns what opened and closed, for the log and the alerts.
     */
    public synchronized List<Notice> step(Instant now, IncidentsConfig config, List<ClusterSeen> seen,
                                          ConfigVersion current, List<ConfigVersion> history) {
        List<Notice> notices = new ArrayList<>();
        Duration sinceLast = lastStep == null ? Duration.ZERO : Duration.between(lastStep, now);
        lastStep = now;
        if (current != null && current.number() != lastVersion) {
            if (lastVersion >= 0) {
                open.forEach(i -> i.note(now, "config version " + current.number() + " applied: " + current.source()));
            }
            lastVersion = current.number();
        }
        Set<String> present = new HashSet<>();
        for (ClusterSeen cluster : seen) {
            present.add(cluster.name());
            Watched w = clusters.computeIfAbsent(cluster.name(), n -> new Watched());
            judge(now, config, cluster, w, sinceLast, current, history, notices);
        }
        for (Map.Entry<String, Watched> e : clusters.entrySet()) {
            Watched w = e.getValue();
            if (!present.contains(e.getKey()) && w.incident != null) {
                close(now, w.incident, "the cluster is no longer in the config (version "
                        + (current == null ? "?" : current.number()) + ")", notices);
                w.incident = null;
            }
        }
        clusters.keySet().retainAll(present);
        closeConfigIncidents(now, config, notices);
        return notices;
    }

    private void judge(Instant now, IncidentsConfig config, ClusterSeen cluster, Watched w, Duration sinceLast,
                       ConfigVersion current, List<ConfigVersion> history, List<Notice> notices) {
        Optional<String> crossing = crossing(config, cluster, w);
        Incident incident = w.incident;
        if (incident == null && crossing.isPresent() && config.enabled()) {
            incident = new Incident(nextId++, cluster.name(), now, crossing.get(), configJson(now, current, history));
            configNotes(now, incident, current, history);
            incident.count(cluster.window());
            incident.peaks(ratio(cluster.window()), p99(cluster.window()));
            w.incident = incident;
            w.recoveredSince = null;
            open.add(incident);
            // What is already out of rotation when it opens is part of the story.
            for (EndpointSeen e : cluster.endpoints()) {
                if (e.state().equals("ejected")) {
                    incident.ejected(now, e.address());
                } else if (e.out()) {
                    incident.note(now, "endpoint " + e.address() + " " + e.state());
                }
            }
            if (cluster.panicking()) {
                incident.panic(now, true);
            }
            notices.add(new Notice("open", incident.id(), "incident " + incident.id() + " opened on cluster "
                    + cluster.name() + ": " + crossing.get() + "; " + incident.summary() + "; config version "
                    + (current == null ? "?" : current.number()), incident.toJson(now)));
        } else if (incident != null) {
            incident.count(cluster.sinceLastStep());
            noteChanges(now, cluster, w, incident);
            if (crossing.isPresent() || anyOut(cluster, incident.endpoints())) {
                w.recoveredSince = null;
            } else if (w.recoveredSince == null) {
                w.recoveredSince = now;
            } else if (Duration.between(w.recoveredSince, now).compareTo(config.closeAfter()) >= 0) {
                close(now, incident, "recovered: " + recovery(config, cluster) + " for "
                        + seconds(Duration.between(w.recoveredSince, now)), notices);
                w.incident = null;
                w.recoveredSince = null;
            }
        }
        if (w.incident != null) {
            w.incident.peaks(ratio(cluster.window()), p99(cluster.window()));
        } else {
            learn(config, cluster, w, sinceLast);
        }
        remember(cluster, w);
    }

    /** Why the cluster is in trouble now, or empty when it is not. */
    static Optional<String> crossing(IncidentsConfig config, ClusterSeen cluster, double baselineRatio,
                                     long baselineP99Nanos, boolean judgeLatency) {
        Totals window = cluster.window();
        String over = seconds(cluster.windowLength());
        if (window.tries() >= config.minRequests()) {
            double ratio = ratio(window);
            if (ratio >= config.errorRatio() && ratio >= config.overBaseline() * baselineRatio) {
                return Optional.of("failed tries " + percent(ratio) + " over the last " + over + " (" + window.failures()
                        + " of " + window.tries() + "; threshold " + percent(config.errorRatio()) + ", baseline "
                        + percent(baselineRatio) + ")");
            }
        }
        if (judgeLatency && window.requests() >= config.minRequests()) {
            long p99 = p99(window);
            if (p99 >= config.latencyP99().toNanos() && p99 >= config.overBaseline() * baselineP99Nanos) {
                return Optional.of("p99 latency " + millis(p99) + " over the last " + over + " (threshold "
                        + millis(config.latencyP99().toNanos()) + ", baseline " + millis(baselineP99Nanos) + ")");
            }
        }
        for (Map.Entry<String, ClusterTallies.Named> e : cluster.recent().endpoints().entrySet()) {
            ClusterTallies.Named n = e.getValue();
            double ratio = n.tries() == 0 ? 0 : (double) n.failures() / n.tries();
            if (n.failures() >= Endpoint.CONSECUTIVE_FAILURES_TO_EJECT && ratio >= config.errorRatio()
                    && ratio >= config.overBaseline() * baselineRatio) {
                return Optional.of("endpoint " + e.getKey() + " failed " + n.failures() + " of " + n.tries()
                        + " tries in the last " + seconds(cluster.recentLength()) + " (" + dominant(n.byKind()) + ")");
            }
        }
        return Optional.empty();
    }

    private static Optional<String> crossing(IncidentsConfig config, ClusterSeen cluster, Watched w) {
        return crossing(config, cluster, w.baselineRatio, w.baselineP99Nanos,
                w.learnt.compareTo(LATENCY_LEARNING) >= 0);
    }

    private static String dominant(long[] byKind) {
        int best = -1;
        for (int k = 0; k < byKind.length; k++) {
            if (byKind[k] > 0 && (best < 0 || byKind[k] > byKind[best])) {
                best = k;
            }
        }
        return best < 0 ? "no kind" : dev.sluice.failure.FailureKind.values()[best].label();
    }

    private static boolean anyOut(ClusterSeen cluster, Set<String> named) {
        for (EndpointSeen e : cluster.endpoints()) {
            if (e.out() && named.contains(e.address())) {
                return true;
            }
        }
        return false;
    }

    private static String recovery(IncidentsConfig config, ClusterSeen cluster) {
        return "failed tries " + percent(ratio(cluster.window())) + " over the last " + seconds(cluster.windowLength())
                + ", every endpoint it named back in rotation,";
    }

    /** The baseline follows the window, about {@link #BASELINE} behind, while no incident is open. */
    private static void learn(IncidentsConfig config, ClusterSeen cluster, Watched w, Duration sinceLast) {
        if (cluster.window().tries() < config.minRequests() || sinceLast.isZero()) {
            return;
        }
        double alpha = Math.min(1, (double) sinceLast.toMillis() / BASELINE.toMillis());
        w.baselineRatio += alpha * (ratio(cluster.window()) - w.baselineRatio);
        // Latency starts from what the cluster first shows (a slow service is slow from its start);
        // the error ratio from 0, so a cluster that starts broken is still an incident.
        w.baselineP99Nanos = w.learnt.isZero() ? p99(cluster.window())
                : w.baselineP99Nanos + (long) (alpha * (p99(cluster.window()) - w.baselineP99Nanos));
        w.learnt = w.learnt.plus(sinceLast);
    }

    /** Endpoint states and panic mode as they change, into the open incident. */
    private static void noteChanges(Instant now, ClusterSeen cluster, Watched w, Incident incident) {
        for (EndpointSeen e : cluster.endpoints()) {
            String before = w.endpointStates.get(e.address());
            if (before != null && !before.equals(e.state())) {
                if (e.state().equals("ejected")) {
                    incident.ejected(now, e.address());
                } else {
                    incident.note(now, "endpoint " + e.address() + " " + (e.out() ? e.state() : "back in rotation ("
                            + e.state() + ")"));
                }
            }
        }
        if (cluster.panicking() != w.panicking) {
            incident.panic(now, cluster.panicking());
        }
    }

    private static void remember(ClusterSeen cluster, Watched w) {
        w.endpointStates.clear();
        cluster.endpoints().forEach(e -> w.endpointStates.put(e.address(), e.state()));
        w.panicking = cluster.panicking();
    }

    private Map<String, Object> configJson(Instant now, ConfigVersion current, List<ConfigVersion> history) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (current == null) {
            return json;
        }
        json.put("version", current.number());
        json.put("outcome", current.outcome().label());
        json.put("source", current.source());
        changeBefore(now, current, history).ifPresent(v -> {
            Map<String, Object> change = new LinkedHashMap<>();
            change.put("version", v.number());
            change.put("source", v.source());
            change.put("applied_at", v.appliedAt().toString());
            change.put("seconds_before_open", Duration.between(v.appliedAt(), now).toSeconds());
            json.put("changed_just_before", change);
        });
        return json;
    }

    private static void configNotes(Instant now, Incident incident, ConfigVersion current, List<ConfigVersion> history) {
        if (current == null) {
            return;
        }
        changeBefore(now, current, history).ifPresentOrElse(v -> incident.note(now, "config version " + v.number()
                        + " was applied " + seconds(Duration.between(v.appliedAt(), now)) + " before: " + v.source()),
                () -> incident.note(now, "config version " + current.number() + " in force (" + current.outcome().label()
                        + "), unchanged for the " + CHANGE_LOOKBACK.toMinutes() + " minutes before"));
    }

    private static Optional<ConfigVersion> changeBefore(Instant now, ConfigVersion current, List<ConfigVersion> history) {
        ConfigVersion newest = current;
        for (ConfigVersion v : history) {
            if (v.number() == current.number()) {
                newest = v;
            }
        }
        Duration ago = Duration.between(newest.appliedAt(), now);
        return ago.compareTo(CHANGE_LOOKBACK) <= 0 && newest.number() > 1 ? Optional.of(newest) : Optional.empty();
    }

    /**
     * A version judged bad was rolled back without an operator: the open incidents that began
     * after it was applied record it; with none, it opens an incident of its own (about the config,
     * no cluster), which closes after {@code close_after}.
     */
    public synchronized List<Notice> autoRolledBack(Instant now, ConfigVersion bad, ConfigVersion restored,
                                                    String why, ConfigVersion current, List<ConfigVersion> history) {
        String what = "auto-rollback: version " + bad.number() + " was judged bad (" + why + "); now serving version "
                + restored.number() + (restored.restoredFrom().map(r -> ", restored from version " + r).orElse(""));
        List<Incident> joined = open.stream().filter(i -> !i.openedAt().isBefore(bad.appliedAt())).toList();
        joined.forEach(i -> i.rolledBack(now, what));
        if (!joined.isEmpty()) {
            return List.of();
        }
        Incident incident = new Incident(nextId++, null, now, what, configJson(now, bad, history));
        incident.rolledBack(now, what);
        open.add(incident);
        return List.of(new Notice("open", incident.id(), "incident " + incident.id() + " opened: " + what,
                incident.toJson(now)));
    }

    /**
     * A problem with where a cluster's endpoints come from, found or gone (two Kubernetes Services
     * selecting the same pods; a Service that went away): an incident of its own on the cluster,
     * open while the problem is, whatever its traffic says (the wrong pods may answer well).
     */
    public synchronized List<Notice> sourceProblem(Instant now, String cluster, String what, boolean present,
                                                   ConfigVersion current, List<ConfigVersion> history) {
        List<String> key = List.of(cluster, what);
        Incident known = sourceProblems.get(key);
        List<Notice> notices = new ArrayList<>();
        if (present && known == null) {
            Incident incident = new Incident(nextId++, cluster, now, what, configJson(now, current, history));
            open.add(incident);
            sourceProblems.put(key, incident);
            notices.add(new Notice("open", incident.id(), "incident " + incident.id() + " opened on cluster " + cluster
                    + ": " + what, incident.toJson(now)));
        } else if (!present && known != null) {
            sourceProblems.remove(key);
            if (known.open()) {
                close(now, known, "the problem is gone", notices);
            }
        }
        return notices;
    }

    /**
     * A canary was rolled back by its analysis: an incident of its own about the config (no
     * cluster: the stable keeps serving), which closes after {@code close_after}.
     *
     * @param what the route, the canary, its step and why, as one sentence
     * @param recorded the version that records the canary's weight at 0, when one was recorded
     */
    public synchronized List<Notice> canaryRolledBack(Instant now, String what, Optional<ConfigVersion> recorded,
                                                      List<ConfigVersion> history) {
        Incident incident = new Incident(nextId++, null, now, what, configJson(now, recorded.orElse(null), history));
        incident.rolledBack(now, what);
        open.add(incident);
        return List.of(new Notice("open", incident.id(), "incident " + incident.id() + " opened: " + what,
                incident.toJson(now)));
    }

    private void closeConfigIncidents(Instant now, IncidentsConfig config, List<Notice> notices) {
        for (Incident i : List.copyOf(open)) {
            if (i.cluster() == null && i.lasted(now).compareTo(config.closeAfter()) >= 0) {
                close(now, i, "no cluster in trouble for " + seconds(i.lasted(now)) + " after the rollback", notices);
            }
        }
    }

    private void close(Instant now, Incident incident, String how, List<Notice> notices) {
        incident.close(now, how);
        open.remove(incident);
        recent.addFirst(incident);
        while (recent.size() > RECENT) {
            recent.removeLast();
        }
        notices.add(new Notice("close", incident.id(), "incident " + incident.id() + " on "
                + (incident.cluster() == null ? "the config" : "cluster " + incident.cluster()) + " closed after "
                + seconds(incident.lasted(now)) + ": " + how + "; " + incident.summary(), incident.toJson(now)));
    }

    /** {@code GET /incidents}: the open ones, then the recently closed, newest first. */
    public synchronized Map<String, Object> toJson(Instant now) {
        Map<String, Object> json = new LinkedHashMap<>();
        List<Map<String, Object>> openJson = new ArrayList<>();
        for (int i = open.size() - 1; i >= 0; i--) {
            openJson.add(open.get(i).toJson(now));
        }
        json.put("open", openJson);
        json.put("recent", recent.stream().map(i -> i.toJson(now)).toList());
        return json;
    }

    /** The id of the open incident on {@code cluster}, if any. */
    public synchronized Optional<Integer> openOn(String cluster) {
        Watched w = clusters.get(cluster);
        return w == null || w.incident == null ? Optional.empty() : Optional.of(w.incident.id());
    }

    static double ratio(Totals window) {
        return window.tries() <= 0 ? 0 : (double) Math.max(0, window.failures()) / window.tries();
    }

    static long p99(Totals window) {
        return percentile(window.latency(), 0.99);
    }

    static long percentile(long[] buckets, double q) {
        return ClusterTallies.percentileNanos(buckets, q);
    }

    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    static String millis(long nanos) {
        return nanos >= 1_000_000_000 ? String.format(Locale.ROOT, "%.2fs", nanos / 1e9)
                : String.format(Locale.ROOT, "%.1fms", nanos / 1e6);
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1e3);
    }
}
