package dev.sluice.config;

import dev.sluice.config.SplitConfig.Backend;
import dev.sluice.config.SplitConfig.StickyKey;
import dev.sluice.http.FieldSyntax;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Binds a route's {@code backends}, {@code sticky} and {@code canary}: clusters defined and
 * named once, weights in range with some traffic somewhere, and a canary's steps rising and
 * its weights a split of 100 at one of its steps.
 */
final class SplitBinder {
    private static final List<String> BACKEND_KEYS = List.of("cluster", "weight");
    private static final List<String> STICKY_KEYS = List.of("header", "cookie");
    private static final List<String> CANARY_KEYS = List.of("cluster", "steps", "interval", "min_requests",
            "max_error_ratio_increase", "latency");
    private static final List<String> LATENCY_KEYS = List.of("percentile", "max_factor", "min_increase");
    /** 10000: weights are relative; finer than 0.01% says nothing a user could measure. */
    static final int MOST_WEIGHT = 10_000;
    /** Canary weights are percent. */
    static final int WHOLE = 100;

    private final Values values;

    SplitBinder(Values values) {
        this.values = values;
    }

    /**
     * The route's split, or empty when it has no {@code backends} or after reporting why not.
     * {@code sticky} and {@code canary} without {@code backends} are reported here too.
     */
    Optional<SplitConfig> bind(Fields f, String route, Optional<Set<String>> clusters) {
        Optional<YamlNode> backendsNode = f.optional("backends");
        if (backendsNode.isEmpty()) {
            for (String key : List.of("sticky", "canary")) {
                if (f.optional(key).isPresent()) {
                    values.problems().add(f.keyAt(key), f.path(key) + ": only for a route split across clusters "
                            + "('backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]')");
                }
            }
            return Optional.empty();
        }
        int before = values.problems().count();
        List<Backend> backends = backends(backendsNode.get(), f.path("backends"), route, clusters);
        Optional<StickyKey> sticky = f.optional("sticky").flatMap(n -> sticky(n, f.path("sticky")));
        Optional<CanaryConfig> canary = f.optional("canary")
                .flatMap(n -> canary(n, f.path("canary"), backends, backendsNode.get(), f.path("backends")));
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new SplitConfig(backends, sticky, canary));
    }

    private List<Backend> backends(YamlNode node, String path, String route, Optional<Set<String>> clusters) {
        List<Backend> backends = new ArrayList<>();
        Optional<YamlNode.Sequence> list = values.list(node, path);
        if (list.isEmpty()) {
            return backends;
        }
        if (list.get().items().size() < 2) {
            values.invalid(node, path, "a split needs at least two backends; for one, write 'cluster: NAME'");
            return backends;
        }
        FirstSeen<String> seen = new FirstSeen<>();
        long total = 0;
        for (int i = 0; i < list.get().items().size(); i++) {
            YamlNode item = list.get().items().get(i);
            String itemPath = Paths.item(path, i);
            Optional<YamlNode.Mapping> map = values.map(item, itemPath);
            if (map.isEmpty()) {
                continue;
            }
            Fields b = Fields.of(map.get(), itemPath, BACKEND_KEYS, values.problems());
            Optional<YamlNode> clusterNode = b.required("cluster");
            Optional<String> cluster = clusterNode.flatMap(n -> values.name(n, b.path("cluster")));
            Optional<Integer> weight = b.required("weight")
                    .flatMap(n -> values.integer(n, b.path("weight"), 0, MOST_WEIGHT));
            if (cluster.isPresent()) {
                if (clusters.isPresent() && !clusters.get().contains(cluster.get())) {
                    values.problems().add(clusterNode.get().at(), "route '" + route + "' refers to undefined cluster '"
                            + cluster.get() + "'" + Suggestions.didYouMean(cluster.get(), clusters.get()));
                }
                seen.claim(cluster.get(), clusterNode.get().at()).ifPresent(first -> values.problems().add(
                        clusterNode.get().at(), itemPath + ".cluster: '" + cluster.get() + "' is already a backend of "
                                + "this route (at " + first + "); give each cluster one weight"));
            }
            if (cluster.isPresent() && weight.isPresent()) {
                backends.add(new Backend(cluster.get(), weight.get()));
                total += weight.get();
            }
        }
        if (backends.size() == list.get().items().size() && total == 0) {
            values.invalid(node, path, "every weight is 0, so no request could be sent anywhere; give one backend "
                    + "a weight above 0");
        }
        return backends;
    }

    private Optional<StickyKey> sticky(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        Fields f = Fields.of(map.get(), path, STICKY_KEYS, values.problems());
        Optional<YamlNode> header = f.optional("header");
        Optional<YamlNode> cookie = f.optional("cookie");
        if (header.isPresent() == cookie.isPresent()) {
            values.problems().add(f.at(), path + ": " + (header.isPresent()
                    ? "choose one of 'header' and 'cookie'; a request is hashed by one or the other"
                    : "say what keeps a user on one backend: 'header: x-user-id' or 'cookie: session'"));
            return Optional.empty();
        }
        if (header.isPresent()) {
            return values.parsed(header.get(), f.path("header"), "a header name", text -> FieldSyntax.isToken(text)
                    // RFC 9110 §5.1: field names are case-insensitive.
                    ? Parsed.ok(new StickyKey.Header(text.toLowerCase(Locale.ROOT)))
                    : Parsed.invalid("'" + text + "' is not a valid header name"));
        }
        return values.parsed(cookie.get(), f.path("cookie"), "a cookie name", text -> FieldSyntax.isToken(text)
                // RFC 6265 §4.1.1: a cookie-name is a token.
                ? Parsed.ok(new StickyKey.Cookie(text))
                : Parsed.invalid("'" + text + "' is not a valid cookie name"));
    }

    private Optional<CanaryConfig> canary(YamlNode node, String path, List<Backend> backends, YamlNode backendsNode,
                                          String backendsPath) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, CANARY_KEYS, values.problems());
        List<Integer> steps = steps(f.required("steps"), f.path("steps"));
        Duration interval = f.optional("interval").flatMap(n -> values.duration(n, f.path("interval"))
                .filter(d -> {
                    if (d.compareTo(CanaryConfig.LEAST_INTERVAL) < 0) {
                        values.invalid(n, f.path("interval"), Durations.format(d) + " is too short to hold enough "
                                + "requests to judge; it must be at least " + Durations.format(CanaryConfig.LEAST_INTERVAL));
                        return false;
                    }
                    return true;
                })).orElse(CanaryConfig.DEFAULT_INTERVAL);
        int minRequests = f.optional("min_requests").flatMap(n -> values.integer(n, f.path("min_requests"), 1,
                1_000_000)).orElse(CanaryConfig.DEFAULT_MIN_REQUESTS);
        double maxIncrease = f.optional("max_error_ratio_increase").flatMap(n -> values.decimal(n,
                f.path("max_error_ratio_increase"), 0, 1, true)).orElse(CanaryConfig.DEFAULT_MAX_ERROR_RATIO_INCREASE);
        int percentile = CanaryConfig.DEFAULT_LATENCY_PERCENTILE;
        double factor = CanaryConfig.DEFAULT_MAX_LATENCY_FACTOR;
        Duration minIncrease = CanaryConfig.DEFAULT_MIN_LATENCY_INCREASE;
        Optional<YamlNode.Mapping> latency = f.optional("latency").flatMap(n -> values.map(n, f.path("latency")));
        if (latency.isPresent()) {
            Fields l = Fields.of(latency.get(), f.path("latency"), LATENCY_KEYS, values.problems());
            percentile = l.optional("percentile").flatMap(n -> values.integer(n, l.path("percentile"), 50, 99))
                    .orElse(percentile);
            factor = l.optional("max_factor").flatMap(n -> values.decimal(n, l.path("max_factor"), 1, 100, true))
                    .orElse(factor);
            minIncrease = l.optional("min_increase").flatMap(n -> values.duration(n, l.path("min_increase")))
                    .orElse(minIncrease);
        }
        String cluster = canaryCluster(f, backends, backendsNode, backendsPath);
        if (values.problems().count() > before || cluster.isEmpty()) {
            return Optional.empty();
        }
        checkWeights(backendsNode, backendsPath, cluster, backends, steps);
        return Optional.of(new CanaryConfig(cluster, steps, interval, minRequests, maxIncrease, percentile, factor,
                minIncrease));
    }

    /** {@code canary.cluster}, else the second backend (the stable is listed first, as people write it). */
    private String canaryCluster(Fields f, List<Backend> backends, YamlNode backendsNode, String backendsPath) {
        if (backends.size() != 2) {
            if (!backends.isEmpty()) {
                values.invalid(backendsNode, backendsPath,
                        "a canary route has exactly two backends, the stable and the canary (got "
                                + backends.size() + ")");
            }
            return "";
        }
        Optional<YamlNode> named = f.optional("cluster");
        if (named.isEmpty()) {
            return backends.get(1).cluster();
        }
        Optional<String> name = values.name(named.get(), f.path("cluster"));
        if (name.isPresent() && backends.stream().noneMatch(b -> b.cluster().equals(name.get()))) {
            values.invalid(named.get(), f.path("cluster"), "'" + name.get() + "' is not one of the route's backends ("
                    + String.join(", ", backends.stream().map(Backend::cluster).toList()) + ")");
            return "";
        }
        return name.orElse("");
    }

    private List<Integer> steps(Optional<YamlNode> node, String path) {
        List<Integer> steps = new ArrayList<>();
        Optional<YamlNode.Sequence> list = node.flatMap(n -> values.list(n, path));
        if (list.isEmpty()) {
            return steps;
        }
        if (list.get().items().isEmpty()) {
            values.invalid(list.get(), path, "at least one step is required, e.g. [5, 25, 50, 100]");
        }
        for (int i = 0; i < list.get().items().size(); i++) {
            YamlNode item = list.get().items().get(i);
            Optional<Integer> step = values.integer(item, Paths.item(path, i), 1, WHOLE);
            if (step.isPresent() && !steps.isEmpty() && step.get() <= steps.getLast()) {
                values.invalid(item, Paths.item(path, i), "steps must rise: " + step.get() + " comes after "
                        + steps.getLast());
                return steps;
            }
            step.ifPresent(steps::add);
        }
        return steps;
    }

    /**
     * A canary's weights are percent (they add up to 100), and the canary's is where its run
     * stands: 0 (no run: not started, or rolled back), one of the steps (the run starts there),
     * or 100 (promoted).
     */
    private void checkWeights(YamlNode backendsNode, String backendsPath, String cluster, List<Backend> backends, List<Integer> steps) {
        int total = backends.stream().mapToInt(Backend::weight).sum();
        List<YamlNode> items = ((YamlNode.Sequence) backendsNode).items();
        if (total != WHOLE) {
            values.problems().add(backendsNode.at(), backendsPath + ": a canary route's weights are percent and must add up "
                    + "to 100 (they add up to " + total + ")");
            return;
        }
        for (int i = 0; i < backends.size(); i++) {
            Backend b = backends.get(i);
            if (b.cluster().equals(cluster) && b.weight() != 0 && b.weight() != WHOLE && !steps.contains(b.weight())) {
                YamlNode weightNode = ((YamlNode.Mapping) items.get(i)).entries().get("weight").value();
                values.problems().add(weightNode.at(), Paths.item(backendsPath, i) + ".weight: the canary's weight " + b.weight()
                        + " is none of its steps " + steps + "; write 0 (no canary run), a step (the run starts "
                        + "there) or 100 (promoted)");
            }
        }
    }
}
