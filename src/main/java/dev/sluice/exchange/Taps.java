package dev.sluice.exchange;

import dev.sluice.config.MirrorConfig;
import dev.sluice.exchange.RouteTaps.MirrorOutcome;
import dev.sluice.observe.GatewayMetrics;
import dev.sluice.observe.RequestLog;
import dev.sluice.record.Recorder;
import dev.sluice.route.Route;
import io.netty.handler.codec.http.HttpRequest;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The gateway's mirrors and recordings (docs/architecture.md, "Mirroring and recording"): opens
 * each exchange's {@link Tap} on a route with {@code mirror} or {@code record}, samples it, keeps
 * each route's counts (by name, across reloads) and owns the {@link Recorder} and its thread.
 * Shared by the event loops: a route's counts are found in a concurrent map, without a lock.
 */
public final class Taps implements AutoCloseable {
    private final Map<String, RouteTaps> routes = new ConcurrentHashMap<>();
    private final Recorder recorder;

    public Taps(Clock clock) {
        this.recorder = new Recorder(clock);
    }

    /**
     * The tap of a request just routed to {@code route} (a route with {@link Route#tapped()}):
     * each of its taps samples the request by its own fraction.
     */
    Tap open(ExchangeContext context, Route route, HttpRequest request, boolean bodyless, boolean secure,
             RequestLog log) {
        RouteTaps counts = routes.computeIfAbsent(route.name(), name -> new RouteTaps());
        MirrorCopy mirror = null;
        if (route.mirror().isPresent()) {
            MirrorConfig m = route.mirror().get();
            if (sampled(m.fraction())) {
                mirror = MirrorCopy.sampled(context, m, counts, request, bodyless, log).orElse(null);
            } else {
                counts.count(MirrorOutcome.NOT_SAMPLED);
                log.mirror(MirrorOutcome.NOT_SAMPLED.label());
            }
        }
        RecordingCapture recording = null;
        if (route.record().isPresent() && sampled(route.record().get().fraction())) {
            recording = new RecordingCapture(route.record().get(), route.name(), request, secure, log);
        }
        if (mirror == null && recording == null) {
            return Tap.NONE;
        }
        return new Tap(context, this, counts, log, mirror, recording);
    }

    private static boolean sampled(double fraction) {
        return fraction >= 1 || fraction > 0 && ThreadLocalRandom.current().nextDouble() < fraction;
    }

    /**
     * Hands a finished recording to the recorder's queue; a full queue drops it, counted. An
     * exchange whose client left before any response is not recorded.
     */
    void record(RecordingCapture recording, RouteTaps counts, RequestLog log, long now) {
        if (recording.abandoned(log)) {
            return;
        }
        recorder.offer(recording.config(), recording.entry(log, now), counts.record);
    }

    /** {@code /status}'s {@code mirror} and {@code record} of a route; empty for a route with neither. */
    public Map<String, Object> status(Route route) {
        Map<String, Object> status = new LinkedHashMap<>();
        RouteTaps counts = routes.getOrDefault(route.name(), new RouteTaps());
        route.mirror().ifPresent(m -> {
            Map<String, Object> mirror = new LinkedHashMap<>();
            mirror.put("cluster", m.cluster());
            mirror.put("fraction", m.fraction());
            mirror.put("in_flight", counts.mirrorInFlight.get());
            mirror.put("max_in_flight", m.maxInFlight());
            mirror.put("sent", counts.sent());
            for (MirrorOutcome o : MirrorOutcome.values()) {
                mirror.put(o.label(), counts.mirrored(o));
            }
            Map<String, Object> answers = new LinkedHashMap<>();
            for (int hundreds = 2; hundreds <= 5; hundreds++) {
                answers.put(hundreds + "xx", counts.answered(hundreds));
            }
            mirror.put("answers", answers);
            status.put("mirror", mirror);
        });
        route.record().ifPresent(r -> {
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("path", r.directory().toString());
            record.put("fraction", r.fraction());
            record.put("written", counts.record.written());
            record.put("dropped", counts.record.dropped());
            record.put("failed", counts.record.failed());
            status.put("record", record);
        });
        return status;
    }

    /**
     * Registers {@code sluice_mirror_requests_total{route,outcome}}, {@code sluice_mirror_sent_total{route}},
     * {@code sluice_mirror_responses_total{route,class}}, {@code sluice_mirror_in_flight{route}}
     * and {@code sluice_record_entries_total{route,outcome}}, read at each scrape for the routes
     * {@code current} has (so a route a reload removes goes).
     */
    public void registerMetrics(GatewayMetrics metrics, Supplier<List<Route>> current) {
        metrics.counters("sluice_mirror_requests", "Requests of a route with a mirror by what became of their copy: "
                + "not_sampled, not_forwarded, too_large, dropped_busy, dropped_no_endpoint, or sent and then "
                + "answered, failed, timed_out or cut", List.of("route", "outcome"),
                rows -> current.get().stream().filter(r -> r.mirror().isPresent()).forEach(r -> {
                    RouteTaps counts = routes.getOrDefault(r.name(), EMPTY);
                    for (MirrorOutcome o : MirrorOutcome.values()) {
                        rows.add(counts.mirrored(o), r.name(), o.label());
                    }
                }));
        metrics.counters("sluice_mirror_sent", "Mirror copies sent: an in-flight place and a healthy endpoint",
                List.of("route"), rows -> current.get().stream().filter(r -> r.mirror().isPresent()).forEach(r ->
                        rows.add(routes.getOrDefault(r.name(), EMPTY).sent(), r.name())));
        metrics.counters("sluice_mirror_responses", "The mirror's whole answers to copies, by status class (read "
                + "and dropped)", List.of("route", "class"),
                rows -> current.get().stream().filter(r -> r.mirror().isPresent()).forEach(r -> {
                    RouteTaps counts = routes.getOrDefault(r.name(), EMPTY);
                    for (int hundreds = 2; hundreds <= 5; hundreds++) {
                        rows.add(counts.answered(hundreds), r.name(), hundreds + "xx");
                    }
                }));
        metrics.gauges("sluice_mirror_in_flight", "Mirror copies in flight now", List.of("route"),
                rows -> current.get().stream().filter(r -> r.mirror().isPresent()).forEach(r ->
                        rows.add(routes.getOrDefault(r.name(), EMPTY).mirrorInFlight.get(), r.name())));
        metrics.counters("sluice_record_entries", "Sampled exchanges' recordings: written, dropped (the writer's "
                + "queue full) or failed (the write)", List.of("route", "outcome"),
                rows -> current.get().stream().filter(r -> r.record().isPresent()).forEach(r -> {
                    RouteTaps counts = routes.getOrDefault(r.name(), EMPTY);
                    rows.add(counts.record.written(), r.name(), "written");
                    rows.add(counts.record.dropped(), r.name(), "dropped");
                    rows.add(counts.record.failed(), r.name(), "failed");
                }));
    }

    private static final RouteTaps EMPTY = new RouteTaps();

    /** Recorded exchanges offered to the writer and not yet written, all routes together. */
    public int recordsQueued() {
        return recorder.queued();
    }

    /** Writes what the recorder holds and stops its thread. */
    @Override
    public void close() {
        recorder.close();
    }
}
