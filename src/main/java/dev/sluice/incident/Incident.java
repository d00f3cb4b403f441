package dev.sluice.incident;

import dev.sluice.failure.FailureKind;
import dev.sluice.observe.ClusterTallies;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One incident, as a timeline: when and why it opened, the config in force and any change just
 * before, what failed (kinds, endpoints, routes, with counts), what Sluice did about it
 * (ejections, panic mode, retries made and refused by the budget, load shed, rollbacks), and when
 * and how it closed. Written only by the incident watch's thread; read as JSON ({@link #toJson}),
 * copied when read.
 */
final class Incident {
    /** 100 entries: an endpoint ejected and back every few seconds for an hour must not grow it without bound. */
    static final int MOST_TIMELINE_ENTRIES = 100;

    record Entry(Instant at, String event) {}

    private final int id;
    /** Null for an incident that is about the config as a whole (an auto-rollback with no cluster incident open). */
    private final String cluster;
    private final Instant openedAt;
    private final String openedBecause;
    private final Map<String, Object> config;
    private final List<Entry> timeline = new ArrayList<>();
    private int timelineDropped;
    private final long[] byKind = new long[FailureKind.values().length];
    private final Map<String, long[]> endpoints = new TreeMap<>();
    private final Map<String, Long> routes = new TreeMap<>();
    private long retries;
    private long retriesRefusedByBudget;
    private int ejections;
    private boolean panicSeen;
    private final List<String> rollbacks = new ArrayList<>();
    private double peakErrorRatio;
    private long peakP99Nanos;
    private Instant closedAt;
    private String closedHow;

    Incident(int id, String cluster, Instant openedAt, String openedBecause, Map<String, Object> config) {
        this.id = id;
        this.cluster = cluster;
        this.openedAt = openedAt;
        this.openedBecause = openedBecause;
        this.config = config;
        note(openedAt, "opened: " + openedBecause);
    }

    int id() {
        return id;
    }

    String cluster() {
        return cluster;
    }

    Instant openedAt() {
        return openedAt;
    }

    boolean open() {
        return closedAt == null;
    }

    void note(Instant at, String event) {
        if (timeline.size() >= MOST_TIMELINE_ENTRIES) {
            // Keep the opening entries and the latest: the middle of a long flap is the least read.
            timeline.remove(MOST_TIMELINE_ENTRIES / 2);
            timelineDropped++;
        }
        timeline.add(new Entry(at, event));
    }

    /** Adds what a cluster's traffic came to over a stretch of the incident. */
    void count(ClusterTallies.Totals delta) {
        for (int k = 0; k < byKind.length; k++) {
            byKind[k] += delta.byKind()[k];
        }
        delta.endpoints().forEach((address, n) -> {
            if (n.failures() > 0) {
                long[] kinds = endpoints.computeIfAbsent(address, a -> new long[byKind.length]);
                for (int k = 0; k < kinds.length; k++) {
                    kinds[k] += n.byKind()[k];
                }
            }
        });
        delta.routes().forEach((name, n) -> {
            if (n.failures() > 0) {
                routes.merge(name, n.failures(), Long::sum);
            }
        });
        retries += delta.retries();
        retriesRefusedByBudget += delta.retriesRefusedByBudget();
    }

    void peaks(double errorRatio, long p99Nanos) {
        peakErrorRatio = Math.max(peakErrorRatio, errorRatio);
        peakP99Nanos = Math.max(peakP99Nanos, p99Nanos);
    }

    void ejected(Instant at, String endpoint) {
        ejections++;
        note(at, "endpoint " + endpoint + " ejected");
    }

    void panic(Instant at, boolean on) {
        panicSeen |= on;
        note(at, on ? "panic mode: no healthy endpoint left, requests go to every endpoint"
                : "panic mode over: a healthy endpoint is back");
    }

    void rolledBack(Instant at, String what) {
        rollbacks.add(what);
        note(at, what);
    }

    /** The endpoints it names: those whose tries failed during it. */
    java.util.Set<String> endpoints() {
        return endpoints.keySet();
    }

    /** The kinds of failure it saw, most first. */
    List<Map.Entry<FailureKind, Long>> kinds() {
        List<Map.Entry<FailureKind, Long>> kinds = new ArrayList<>();
        for (FailureKind kind : FailureKind.values()) {
            if (byKind[kind.ordinal()] > 0) {
                kinds.add(Map.entry(kind, byKind[kind.ordinal()]));
            }
        }
        kinds.sort(Map.Entry.<FailureKind, Long>comparingByValue().reversed());
        return kinds;
    }

    long failures() {
        long n = 0;
        for (long c : byKind) {
            n += c;
        }
        return n;
    }

    void close(Instant at, String how) {
        closedAt = at;
        closedHow = how;
        note(at, "closed: " + how);
    }

    Duration lasted(Instant now) {
        return Duration.between(openedAt, closedAt == null ? now : closedAt);
    }

    /** One line: what failed, where, and what was done; for the log lines at open and close. */
    String summary() {
        StringBuilder s = new StringBuilder();
        List<Map.Entry<FailureKind, Long>> kinds = kinds();
        s.append(kinds.isEmpty() ? "no failed tries" : String.join(", ", kinds.stream().limit(3)
                .map(e -> e.getKey().label() + " " + e.getValue()).toList()));
        if (!endpoints.isEmpty()) {
            s.append(" at ").append(String.join(", ", topEndpoints().stream().limit(3).toList()));
        }
        if (ejections > 0) {
            s.append("; ").append(ejections).append(ejections == 1 ? " ejection" : " ejections");
        }
        if (retries > 0 || retriesRefusedByBudget > 0) {
            s.append("; ").append(retries).append(" retries (").append(retriesRefusedByBudget)
                    .append(" refused by the budget)");
        }
        if (!rollbacks.isEmpty()) {
            s.append("; ").append(rollbacks.size()).append(rollbacks.size() == 1 ? " rollback" : " rollbacks");
        }
        return s.toString();
    }

    private List<String> topEndpoints() {
        return endpoints.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, long[]> e) -> -sum(e.getValue())))
                .map(Map.Entry::getKey).toList();
    }

    private static long sum(long[] counts) {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    Map<String, Object> toJson(Instant now) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("id", id);
        json.put("cluster", cluster);
        json.put("state", open() ? "open" : "closed");
        json.put("opened_at", openedAt.toString());
        json.put("opened_because", openedBecause);
        json.put("closed_at", closedAt == null ? null : closedAt.toString());
        json.put("closed_how", closedHow);
        json.put("duration_seconds", lasted(now).toSeconds());
        json.put("config", config);
        json.put("failure_kinds", kinds().stream().map(e -> {
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("kind", e.getKey().label());
            k.put("count", e.getValue());
            return k;
        }).toList());
        json.put("endpoints", topEndpoints().stream().map(address -> {
            Map<String, Object> e = new LinkedHashMap<>();
            long[] kinds = endpoints.get(address);
            e.put("address", address);
            e.put("failures", sum(kinds));
            Map<String, Long> byLabel = new LinkedHashMap<>();
            for (FailureKind kind : FailureKind.values()) {
                if (kinds[kind.ordinal()] > 0) {
                    byLabel.put(kind.label(), kinds[kind.ordinal()]);
                }
            }
            e.put("kinds", byLabel);
            return e;
        }).toList());
        json.put("routes", routes.entrySet().stream().map(r -> Map.<String, Object>of("name", r.getKey(),
                "requests_with_failures", r.getValue())).toList());
        Map<String, Object> actions = new LinkedHashMap<>();
        actions.put("ejections", ejections);
        actions.put("panic_mode", panicSeen);
        actions.put("retries", retries);
        actions.put("retries_refused_by_budget", retriesRefusedByBudget);
        actions.put("load_shed", byKind[FailureKind.OVERLOADED.ordinal()]);
        actions.put("rollbacks", List.copyOf(rollbacks));
        json.put("actions", actions);
        json.put("peak_error_ratio", Math.round(peakErrorRatio * 10_000) / 10_000.0);
        json.put("peak_latency_p99_ms", peakP99Nanos / 1_000_000);
        json.put("timeline", timeline.stream().map(e -> Map.of("at", e.at().toString(), "event", e.event())).toList());
        if (timelineDropped > 0) {
            json.put("timeline_entries_dropped", timelineDropped);
        }
        return json;
    }
}
