package dev.sluice.config;

import dev.sluice.config.ClusterConfig.LoadBalancerKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Binds {@code clusters[]} and their endpoints, and remembers which names are defined for the routes. */
final class ClusterBinder {
    private static final String PATH = "clusters";
    private static final List<String> KEYS = List.of("name", "endpoints", "connect_timeout", "idle_timeout",
            "max_idle_per_endpoint", "load_balancer", "slow_start", "health_check");
    private static final List<String> ENDPOINT_KEYS = List.of("address", "labels", "weight");
    /** {@code idle_timeout: auto}: learn the timeout from the backend's {@code Keep-Alive} header. */
    private static final String AUTO = "auto";
    private static final List<String> LOAD_BALANCERS =
            Arrays.stream(LoadBalancerKind.values()).map(k -> k.name().toLowerCase(Locale.ROOT)).toList();

    private final Values values;
    private final FirstSeen<String> names = new FirstSeen<>();
    private boolean sectionIsList;

    ClusterBinder(Values values) {
        this.values = values;
    }

    List<ClusterConfig> bind(YamlNode node) {
        List<ClusterConfig> clusters = new ArrayList<>();
        values.list(node, PATH).ifPresent(list -> {
            sectionIsList = true;
            if (list.items().isEmpty()) {
                values.invalid(list, PATH, "at least one cluster is required");
            }
            for (int i = 0; i < list.items().size(); i++) {
                bindOne(list.items().get(i), Paths.item(PATH, i)).ifPresent(clusters::add);
            }
        });
        return clusters;
    }

    /** Every name a cluster was given, even clusters with other errors, so routes are not also blamed. */
    Optional<Set<String>> definedNames() {
        return sectionIsList ? Optional.of(Set.copyOf(names.keys())) : Optional.empty();
    }

    private Optional<ClusterConfig> bindOne(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> nameNode = f.required("name");
        Optional<String> name = nameNode.flatMap(n -> values.name(n, f.path("name")));
        name.ifPresent(n -> names.claim(n, nameNode.get().at()).ifPresent(first -> values.problems().add(
                nameNode.get().at(), "duplicate cluster name '" + n + "' (first defined at " + first + ")")));
        List<EndpointConfig> endpoints = f.required("endpoints").map(n -> endpoints(n, f.path("endpoints"))).orElse(List.of());
        Duration connectTimeout = f.optional("connect_timeout").flatMap(n -> values.duration(n, f.path("connect_timeout")))
                .orElse(ClusterConfig.DEFAULT_CONNECT_TIMEOUT);
        Optional<Duration> fixedIdleTimeout = f.optional("idle_timeout").flatMap(n -> idleTimeout(n, f.path("idle_timeout")));
        int maxIdle = f.optional("max_idle_per_endpoint")
                .flatMap(n -> values.integer(n, f.path("max_idle_per_endpoint"), 0, Integer.MAX_VALUE))
                .orElse(ClusterConfig.DEFAULT_MAX_IDLE_PER_ENDPOINT);
        LoadBalancerKind loadBalancer = f.optional("load_balancer").flatMap(n -> loadBalancer(n, f.path("load_balancer")))
                .orElse(LoadBalancerKind.LEAST_REQUEST);
        Duration slowStart = f.optional("slow_start").flatMap(n -> values.duration(n, f.path("slow_start")))
                .orElse(Duration.ZERO);
        Optional<HealthCheckConfig> healthCheck = f.optional("health_check")
                .flatMap(n -> new HealthCheckBinder(values).bind(n, f.path("health_check")));
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new ClusterConfig(name.get(), endpoints, connectTimeout,
                fixedIdleTimeout.orElse(ClusterConfig.DEFAULT_IDLE_TIMEOUT), fixedIdleTimeout.isEmpty(),
                maxIdle, loadBalancer, slowStart, healthCheck));
    }

    private List<EndpointConfig> endpoints(YamlNode node, String path) {
        List<EndpointConfig> endpoints = new ArrayList<>();
        FirstSeen<HostPort> seen = new FirstSeen<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "at least one endpoint is required");
            }
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String itemPath = Paths.item(path, i);
                endpoint(item, itemPath).ifPresent(endpoint -> {
                    // The same backend twice would silently get twice the traffic.
                    Optional<Position> first = seen.claim(endpoint.address(), item.at());
                    if (first.isPresent()) {
                        values.invalid(item, itemPath, "duplicate endpoint '"
                                + endpoint.address() + "' (first listed at " + first.get() + ")");
                    } else {
                        endpoints.add(endpoint);
                    }
                });
            }
        });
        return endpoints;
    }

    /** Either {@code host:port}, or {@code {address: host:port, labels: {k: v}}}. */
    private Optional<EndpointConfig> endpoint(YamlNode node, String path) {
        if (!(node instanceof YamlNode.Mapping map)) {
            if (node instanceof YamlNode.Sequence) {
                values.invalid(node, path, "expected host:port or a map with 'address', got a list"
                        + "; quote IPv6 addresses, e.g. \"[::1]:8080\"");
                return Optional.empty();
            }
            return values.address(node, path, 1).map(EndpointConfig::of);
        }
        int before = values.problems().count();
        Fields f = Fields.of(map, path, ENDPOINT_KEYS, values.problems());
        Optional<HostPort> address = f.required("address").flatMap(n -> values.address(n, f.path("address"), 1));
        Map<String, String> labels = f.optional("labels").map(n -> labels(n, f.path("labels"))).orElse(Map.of());
        int weight = f.optional("weight").flatMap(n -> values.integer(n, f.path("weight"), 1, 1000)).orElse(1);
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new EndpointConfig(address.get(), labels, weight));
    }

    private Map<String, String> labels(YamlNode node, String path) {
        Map<String, String> labels = new LinkedHashMap<>();
        values.map(node, path).ifPresent(map -> map.entries().forEach((key, entry) ->
                values.text(entry.value(), Paths.child(path, key), "a label value").ifPresent(v -> labels.put(key, v))));
        return labels;
    }

    /** A fixed timeout, or empty for {@code auto} (and after an error, when the cluster is dropped anyway). */
    private Optional<Duration> idleTimeout(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.text().equals(AUTO)) {
            return Optional.empty();
        }
        return values.parsed(node, path, "a duration like 4s, or auto", text -> switch (Durations.parse(text)) {
            case Parsed.Ok<Duration> ok -> ok;
            case Parsed.Invalid<Duration> bad -> Parsed.invalid(bad.reason() + ", or 'auto'");
        });
    }

    private Optional<LoadBalancerKind> loadBalancer(YamlNode node, String path) {
        return values.parsed(node, path, "a load balancer name", text -> {
            int index = LOAD_BALANCERS.indexOf(text);
            if (index >= 0) {
                return Parsed.ok(LoadBalancerKind.values()[index]);
            }
            String help = Suggestions.closest(text, LOAD_BALANCERS).map(c -> " (did you mean '" + c + "'?)")
                    .orElse(" (supported: " + String.join(", ", LOAD_BALANCERS) + ")");
            return Parsed.invalid("unknown load balancer '" + text + "'" + help);
        });
    }
}
