package dev.sluice.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Binds {@code routes[]}: names unique, and every route's cluster defined. */
final class RouteBinder {
    private static final String PATH = "routes";
    private static final List<String> KEYS = List.of("name", "match", "cluster", "timeout");

    private final Values values;
    private final MatchBinder matches;
    private final FirstSeen<String> names = new FirstSeen<>();

    RouteBinder(Values values) {
        this.values = values;
        this.matches = new MatchBinder(values);
    }

    /**
     * @param clusters the defined cluster names, or empty when the clusters section itself is
     *     broken (then every route would be "undefined", which helps nobody)
     */
    List<RouteConfig> bind(YamlNode node, Optional<Set<String>> clusters) {
        List<RouteConfig> routes = new ArrayList<>();
        values.list(node, PATH).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, PATH, "at least one route is required");
            }
            for (int i = 0; i < list.items().size(); i++) {
                bindOne(list.items().get(i), i, clusters).ifPresent(routes::add);
            }
        });
        return routes;
    }

    private Optional<RouteConfig> bindOne(YamlNode node, int index, Optional<Set<String>> clusters) {
        String path = Paths.item(PATH, index);
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> nameNode = f.optional("name");
        String name = nameNode.flatMap(n -> values.name(n, f.path("name"))).orElse("route-" + (index + 1));
        Position nameAt = nameNode.map(YamlNode::at).orElse(f.at());
        names.claim(name, nameAt).ifPresent(first -> values.problems().add(nameAt,
                "duplicate route name '" + name + "' (first defined at " + first + ")"));
        Optional<MatchConfig> match = f.required("match").flatMap(n -> matches.bind(n, f.path("match")));
        Optional<YamlNode> clusterNode = f.required("cluster");
        Optional<String> cluster = clusterNode.flatMap(n -> values.name(n, f.path("cluster")));
        if (cluster.isPresent() && clusters.isPresent() && !clusters.get().contains(cluster.get())) {
            values.problems().add(clusterNode.get().at(), "route '" + name + "' refers to undefined cluster '"
                    + cluster.get() + "'" + Suggestions.didYouMean(cluster.get(), clusters.get()));
        }
        Duration timeout = f.optional("timeout").flatMap(n -> values.duration(n, f.path("timeout")))
                .orElse(RouteConfig.DEFAULT_TIMEOUT);
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new RouteConfig(name, match.get(), cluster.get(), timeout));
    }
}
