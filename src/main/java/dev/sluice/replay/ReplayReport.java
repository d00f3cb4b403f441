package dev.sluice.replay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What a replay found, per route and in all: the requests sent and skipped, status classes that
 * changed (recorded 2xx, now 5xx), response bodies that differ from the recording's hash (safe
 * methods only: an unsafe one's answer may rightly differ the second time), failures by kind, and
 * latency percentiles now against the recording's.
 *
 * <p>A request <em>differs</em> when it got no whole answer, or, with {@code compare}, when its
 * status class changed or its body's hash did; each differing request counts once, and
 * {@code --max-diff} is weighed against that count.
 */
final class ReplayReport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double[] PERCENTILES = {0.50, 0.90, 0.99};

    /** One route's figures (or all routes', for the total line). */
    static final class Tally {
        final String route;
        int sent;
        int skippedUnsafe;
        int skippedTruncatedBody;
        int bodiesCompared;
        int bodyMismatches;
        int differences;
        final Map<String, Integer> statusChanges = new TreeMap<>();
        final Map<ReplayFailure, Integer> failures = new EnumMap<>(ReplayFailure.class);
        final List<Double> recordedMillis = new ArrayList<>();
        final List<Double> nowMillis = new ArrayList<>();

        Tally(String route) {
            this.route = route;
        }

        String route() {
            return route;
        }

        int differences() {
            return differences;
        }
    }

    private final Map<String, Tally> routes;
    private final Tally total;
    private final boolean compare;
    private final MaxDiff maxDiff;
    private final Map<ReplayFailure, String> firstFailureDetail;

    private ReplayReport(Map<String, Tally> routes, Tally total, boolean compare, MaxDiff maxDiff,
                         Map<ReplayFailure, String> firstFailureDetail) {
        this.routes = routes;
        this.total = total;
        this.compare = compare;
        this.maxDiff = maxDiff;
        this.firstFailureDetail = firstFailureDetail;
    }

    static ReplayReport of(List<Outcome> outcomes, boolean compare, MaxDiff maxDiff) {
        Map<String, Tally> routes = new TreeMap<>();
        Tally total = new Tally("(all)");
        Map<ReplayFailure, String> firstDetail = new EnumMap<>(ReplayFailure.class);
        for (Outcome outcome : outcomes) {
            Tally route = routes.computeIfAbsent(outcome.recorded().route(), Tally::new);
            for (Tally t : List.of(route, total)) {
                count(t, outcome, compare);
            }
            if (outcome instanceof Outcome.Failed failed) {
                firstDetail.putIfAbsent(failed.kind(), failed.detail());
            }
        }
        return new ReplayReport(routes, total, compare, maxDiff, firstDetail);
    }

    private static void count(Tally t, Outcome outcome, boolean compare) {
        RecordedExchange recorded = outcome.recorded();
        switch (outcome) {
            case Outcome.Skipped skipped -> {
                switch (skipped.why()) {
                    case UNSAFE -> t.skippedUnsafe++;
                    case TRUNCATED_BODY -> t.skippedTruncatedBody++;
                }
            }
            case Outcome.Failed failed -> {
                t.sent++;
                t.recordedMillis.add(recorded.recordedMillis());
                t.failures.merge(failed.kind(), 1, Integer::sum);
                t.differences++;
            }
            case Outcome.Answered answered -> {
                t.sent++;
                t.recordedMillis.add(recorded.recordedMillis());
                t.nowMillis.add(answered.nanos() / 1e6);
                boolean differs = false;
                // Status 0 in a recording is HAR's "no response": there is no class to compare with.
                if (recorded.recordedStatus() != 0 && recorded.recordedStatus() / 100 != answered.status() / 100) {
                    t.statusChanges.merge(recorded.recordedStatus() / 100 + "xx->" + answered.status() / 100 + "xx", 1,
                            Integer::sum);
                    differs = true;
                }
                if (recorded.safe() && recorded.recordedBodySha256().isPresent()) {
                    t.bodiesCompared++;
                    if (!recorded.recordedBodySha256().get().equals(answered.bodySha256())) {
                        t.bodyMismatches++;
                        differs = true;
                    }
                }
                if (differs && compare) {
                    t.differences++;
                }
            }
        }
    }

    long differences() {
        return total.differences;
    }

    long sent() {
        return total.sent;
    }

    boolean exceeded() {
        return maxDiff.exceededBy(total.differences, total.sent);
    }

    /** The routes with differences, most first: what a failed gate names. */
    List<Tally> differingRoutes() {
        return routes.values().stream().filter(t -> t.differences > 0)
                .sorted((a, b) -> Integer.compare(b.differences, a.differences)).toList();
    }

    String verdict() {
        String counted = total.differences + " of " + total.sent + " sent requests differ"
                + (compare ? "" : " (failures only; --compare counts status and body changes too)")
                + ", --max-diff " + maxDiff;
        if (!exceeded()) {
            return counted + ": ok";
        }
        return counted + ": exceeded, in route" + (differingRoutes().size() == 1 ? " " : "s ")
                + differingRoutes().stream().map(t -> t.route + " (" + t.differences + ")")
                .collect(Collectors.joining(", "));
    }

    ObjectNode json(Map<String, Object> run) {
        ObjectNode root = JSON.createObjectNode();
        run.forEach((key, value) -> root.set(key, JSON.valueToTree(value)));
        ObjectNode requests = root.putObject("requests");
        requests.put("recorded", total.sent + total.skippedUnsafe + total.skippedTruncatedBody);
        requests.put("sent", total.sent);
        requests.put("skipped_unsafe", total.skippedUnsafe);
        requests.put("skipped_truncated_body", total.skippedTruncatedBody);
        root.put("differences", total.differences);
        root.put("max_diff", maxDiff.toString());
        root.put("exceeded", exceeded());
        root.set("differing_routes", JSON.valueToTree(differingRoutes().stream().map(Tally::route).toList()));
        root.set("total", tallyJson(total));
        root.set("routes", JSON.valueToTree(routes.values().stream().map(ReplayReport::tallyJson).toList()));
        if (!firstFailureDetail.isEmpty()) {
            ObjectNode details = root.putObject("failure_examples");
            firstFailureDetail.forEach((kind, detail) -> details.put(kind.label(), detail));
        }
        return root;
    }

    private static ObjectNode tallyJson(Tally t) {
        ObjectNode node = JSON.createObjectNode();
        node.put("route", t.route);
        node.put("sent", t.sent);
        node.put("skipped_unsafe", t.skippedUnsafe);
        node.put("skipped_truncated_body", t.skippedTruncatedBody);
        node.put("differences", t.differences);
        node.set("status_changes", JSON.valueToTree(t.statusChanges));
        node.put("bodies_compared", t.bodiesCompared);
        node.put("body_mismatches", t.bodyMismatches);
        Map<String, Integer> failures = new LinkedHashMap<>();
        t.failures.forEach((kind, n) -> failures.put(kind.label(), n));
        node.set("failures", JSON.valueToTree(failures));
        ObjectNode latency = node.putObject("latency_ms");
        latency.set("recorded", percentilesJson(t.recordedMillis));
        latency.set("now", percentilesJson(t.nowMillis));
        return node;
    }

    private static ObjectNode percentilesJson(List<Double> millis) {
        ObjectNode node = JSON.createObjectNode();
        double[] p = percentiles(millis);
        for (int i = 0; i < PERCENTILES.length; i++) {
            String name = "p" + Math.round(PERCENTILES[i] * 100);
            if (Double.isNaN(p[i])) {
                node.putNull(name);
            } else {
                node.put(name, Math.round(p[i] * 1000) / 1000.0);
            }
        }
        return node;
    }

    /** p50, p90, p99 by nearest rank (the smallest value with at least p of them at or below it); NaN when empty. */
    static double[] percentiles(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] result = new double[PERCENTILES.length];
        for (int i = 0; i < PERCENTILES.length; i++) {
            result[i] = sorted.length == 0 ? Double.NaN
                    : sorted[Math.max(0, (int) Math.ceil(PERCENTILES[i] * sorted.length) - 1)];
        }
        return result;
    }

    /** The table for a person: one line per route, then the total, then the verdict. */
    String table() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ROUTE", "SENT", "SKIPPED", "STATUS CHANGES", "BODY DIFF", "FAILURES",
                "P50 MS REC/NOW", "P90 MS REC/NOW", "P99 MS REC/NOW", "DIFF"});
        routes.values().forEach(t -> rows.add(row(t)));
        if (routes.size() > 1) {
            rows.add(row(total));
        }
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                // Names and lists left, numbers right, as tables of figures read.
                boolean left = i == 0 || i == 3 || i == 5;
                String cell = left ? String.format("%-" + widths[i] + "s", row[i]) : String.format("%" + widths[i] + "s", row[i]);
                out.append(i == 0 ? "" : "  ").append(cell);
            }
            out.append('\n');
        }
        firstFailureDetail.forEach((kind, detail) ->
                out.append("first ").append(kind.label()).append(": ").append(detail).append('\n'));
        return out.toString().replaceAll(" +\n", "\n");
    }

    private static String[] row(Tally t) {
        double[] recorded = percentiles(t.recordedMillis);
        double[] now = percentiles(t.nowMillis);
        String[] latency = new String[PERCENTILES.length];
        for (int i = 0; i < latency.length; i++) {
            latency[i] = millis(recorded[i]) + "/" + millis(now[i]);
        }
        String skipped = t.skippedUnsafe + t.skippedTruncatedBody == 0 ? "-"
                : Integer.toString(t.skippedUnsafe + t.skippedTruncatedBody);
        return new String[] {t.route, Integer.toString(t.sent), skipped,
                t.statusChanges.isEmpty() ? "-" : t.statusChanges.entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")),
                t.bodiesCompared == 0 ? "-" : t.bodyMismatches + "/" + t.bodiesCompared,
                t.failures.isEmpty() ? "-" : t.failures.entrySet().stream()
                        .map(e -> e.getKey().label() + " " + e.getValue()).collect(Collectors.joining(", ")),
                latency[0], latency[1], latency[2], Integer.toString(t.differences)};
    }

    private static String millis(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        return value >= 100 ? String.format(Locale.ROOT, "%.0f", value) : String.format(Locale.ROOT, "%.1f", value);
    }

    /** For tests: the per-route figures by name. */
    Map<String, Tally> routes() {
        return routes;
    }

    Tally total() {
        return total;
    }
}
