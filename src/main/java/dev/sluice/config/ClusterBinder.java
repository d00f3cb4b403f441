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
import java.util.stream.Collectors;

/** Binds {@code clusters[]} and their endpoints, and remembers which names are defined for the routes. */
final class ClusterBinder {
    private static final String PATH = "clusters";
    private static final List<String> KEYS = List.of("name", "endpoints", "connect_timeout", "idle_timeout",
            "max_idle_per_endpoint", "load_balancer", "slow_start", "health_check", "select", "shared", "concurrency",
            "sticky", "app", "dns_refresh", "kubernetes", "tls", "protocol", "http2");
    private static final List<String> ENDPOINT_KEYS = List.of("address", "labels", "weight");
    private static final List<String> HTTP2_KEYS = List.of("ping_interval", "ping_timeout");
    /** {@code idle_timeout: auto}: learn the timeout from the backend's {@code Keep-Alive} header. */
    private static final String AUTO = "auto";
    private static final List<String> LOAD_BALANCERS =
            Arrays.stream(LoadBalancerKind.values()).map(k -> k.name().toLowerCase(Locale.ROOT)).toList();

    /** 5 s: Node.js's keep-alive timeout, and the low end of common backend defaults (Go's
     * net/http and gunicorn keep connections for less, Apache 5 s). A fixed upstream idle timeout
     * at or above it lets the backend close a pooled connection just as Sluice reuses it: a 502. */
    static final Duration COMMON_BACKEND_KEEP_ALIVE = Duration.ofSeconds(5);
    /** 100 ms: more often than that a refresh would be a load test of the DNS server. */
    static final Duration SHORTEST_DNS_REFRESH = Duration.ofMillis(100);

    private final Values values;
    private final AppBinder apps;
    private final FirstSeen<String> names = new FirstSeen<>();
    private final List<Membership> memberships = new ArrayList<>();
    /** Clusters whose endpoints come from a Kubernetes Service, in file order. */
    private final List<Watched> watched = new ArrayList<>();
    private Inventory inventory = Inventory.NONE;
    private boolean sectionIsList;

    /** An endpoint in a cluster, and how it got there: listed in the cluster, or selected from the inventory. */
    private record Membership(String cluster, HostPort address, Position at, boolean selected, boolean shared) {}

    /** A cluster that watches a Kubernetes Service, and where its {@code kubernetes:} was written. */
    private record Watched(String cluster, KubernetesConfig kubernetes, Position at) {}

    ClusterBinder(Values values) {
        this.values = values;
        this.apps = new AppBinder(values);
    }

    /** The fixed ports of the apps bound so far, for the clash checks against listeners and the admin API. */
    List<AppBinder.FixedPort> appPorts() {
        return apps.fixedPorts();
    }

    List<ClusterConfig> bind(YamlNode node) {
        return bind(node, Inventory.NONE);
    }

    /** Binds the clusters, resolving their {@code select} over {@code inventory}, then checks who shares what. */
    List<ClusterConfig> bind(YamlNode node, Inventory inventory) {
        this.inventory = inventory;
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
        checkSharing();
        checkSameService();
        return clusters;
    }

    /** The top-level {@code endpoints:} inventory: the same items as a cluster's {@code endpoints}, unique by address. */
    Inventory inventory(YamlNode node) {
        String path = "endpoints";
        List<Inventory.Entry> entries = new ArrayList<>();
        FirstSeen<HostPort> seen = new FirstSeen<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String itemPath = Paths.item(path, i);
                endpoint(item, itemPath).ifPresent(endpoint -> seen.claim(endpoint.address(), item.at()).ifPresentOrElse(
                        first -> values.invalid(item, itemPath, "duplicate endpoint '" + endpoint.address()
                                + "' (first listed at " + first + ")"),
                        () -> entries.add(new Inventory.Entry(endpoint, item.at()))));
            }
        });
        return new Inventory(entries, true);
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
        Optional<YamlNode> selectNode = f.optional("select");
        Optional<Map<String, String>> select = selectNode.flatMap(n -> selector(n, f.path("select")));
        boolean shared = f.optional("shared").flatMap(n -> values.bool(n, f.path("shared"))).orElse(false);
        Optional<YamlNode> endpointsNode = f.optional("endpoints");
        Optional<YamlNode> appNode = f.optional("app");
        Optional<AppConfig> app = appNode.flatMap(n -> apps.bind(name.orElse(""), n, f.path("app")));
        Optional<YamlNode> kubernetesNode = f.optional("kubernetes");
        Optional<KubernetesConfig> kubernetes = kubernetesNode.flatMap(n -> new KubernetesBinder(values)
                .bind(n, f.path("kubernetes")));
        if (kubernetesNode.isPresent()) {
            refuseBesideKubernetes(f);
            if (name.isPresent() && kubernetes.isPresent()) {
                watched.add(new Watched(name.get(), kubernetes.get(), kubernetesNode.get().at()));
            }
        }
        boolean appRunByCommand = appNode.isPresent() && appNode.get() instanceof YamlNode.Mapping m
                && m.entries().containsKey("command");
        if (appRunByCommand && (endpointsNode.isPresent() || selectNode.isPresent())) {
            YamlNode extra = endpointsNode.orElseGet(selectNode::get);
            values.invalid(extra, f.path(endpointsNode.isPresent() ? "endpoints" : "select"), "a cluster whose app "
                    + "Sluice runs ('app.command') has that app as its one endpoint; remove it, or use 'app.start_url' "
                    + "for an app run elsewhere");
        }
        // An app Sluice runs is its own endpoint (with both keys or neither, the app's error says enough).
        boolean appWithoutUrl = appNode.isPresent() && !(appNode.get() instanceof YamlNode.Mapping m
                && m.entries().containsKey("start_url") && !m.entries().containsKey("command"));
        if (endpointsNode.isEmpty() && selectNode.isEmpty() && !appWithoutUrl && kubernetesNode.isEmpty()) {
            values.problems().add(f.at(), "missing required key 'endpoints' in " + path
                    + " (or 'select', to take endpoints by label from the top-level 'endpoints' inventory, or "
                    + "'kubernetes', to take them from a Service's EndpointSlices)");
        }
        FirstSeen<HostPort> listedAt = new FirstSeen<>();
        List<EndpointConfig> endpoints = new ArrayList<>(endpointsNode
                .map(n -> endpoints(n, f.path("endpoints"), listedAt, selectNode.isEmpty())).orElse(List.of()));
        if (name.isPresent()) {
            for (EndpointConfig listed : endpoints) {
                memberships.add(new Membership(name.get(), listed.address(),
                        listedAt.firstAt(listed.address()).orElse(f.at()), false, shared));
            }
        }
        if (name.isPresent() && select.isPresent()) {
            endpoints.addAll(selected(name.get(), select.get(), selectNode.get(), f.path("select"), listedAt,
                    endpoints.isEmpty(), shared));
        }
        Duration connectTimeout = f.optional("connect_timeout").flatMap(n -> values.duration(n, f.path("connect_timeout")))
                .orElse(ClusterConfig.DEFAULT_CONNECT_TIMEOUT);
        Optional<Duration> fixedIdleTimeout = f.optional("idle_timeout").flatMap(n -> idleTimeout(n, f.path("idle_timeout")));
        fixedIdleTimeout.filter(t -> t.compareTo(COMMON_BACKEND_KEEP_ALIVE) >= 0).ifPresent(t -> values.problems().warn(
                f.optional("idle_timeout").get().at(), f.path("idle_timeout") + ": " + Durations.format(t)
                        + " is not below 5s, the keep-alive timeout of Node.js and other common backends; if the "
                        + "backend closes an idle connection just as Sluice reuses it, that request fails with a 502. "
                        + "Use 'auto', or a value below the backend's keep-alive timeout"));
        int maxIdle = f.optional("max_idle_per_endpoint")
                .flatMap(n -> values.integer(n, f.path("max_idle_per_endpoint"), 0, Integer.MAX_VALUE))
                .orElse(ClusterConfig.DEFAULT_MAX_IDLE_PER_ENDPOINT);
        LoadBalancerKind loadBalancer = f.optional("load_balancer").flatMap(n -> loadBalancer(n, f.path("load_balancer")))
                .orElse(LoadBalancerKind.LEAST_REQUEST);
        Duration slowStart = f.optional("slow_start").flatMap(n -> values.duration(n, f.path("slow_start")))
                .orElse(Duration.ZERO);
        Optional<ConcurrencyConfig> concurrency = f.optional("concurrency")
                .map(n -> new ConcurrencyBinder(values).bind(n, f.path("concurrency")))
                .orElse(Optional.of(ConcurrencyConfig.DEFAULT));
        Optional<StickyConfig> sticky = f.optional("sticky")
                .flatMap(n -> new StickyBinder(values).bind(n, f.path("sticky"), name.orElse("")));
        Duration dnsRefresh = f.optional("dns_refresh").flatMap(n -> dnsRefresh(n, f.path("dns_refresh"), endpoints))
                .orElse(ClusterConfig.DEFAULT_DNS_REFRESH);
        Optional<UpstreamTlsConfig> tls = f.optional("tls")
                .flatMap(n -> new TlsBinder(values, values.problems().source()).upstream(n, f.path("tls")));
        Optional<ClusterConfig.Protocol> written = f.optional("protocol")
                .flatMap(n -> protocol(n, f.path("protocol"), tls.isPresent() || f.optional("tls").isPresent()));
        ClusterConfig.Protocol protocol = written.orElse(ClusterConfig.Protocol.DEFAULT);
        // A protocol already refused says nothing of what the health check may speak.
        Optional<ClusterConfig.Protocol> known = f.optional("protocol").isPresent() ? written : Optional.of(protocol);
        Optional<HealthCheckConfig> healthCheck = f.optional("health_check")
                .flatMap(n -> new HealthCheckBinder(values).bind(n, f.path("health_check"), known));
        Optional<UpstreamHttp2Config> http2 = f.optional("http2").map(n -> http2(n, f.path("http2"), known))
                .orElse(Optional.of(UpstreamHttp2Config.DEFAULT));
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new ClusterConfig(name.get(), endpoints, connectTimeout,
                fixedIdleTimeout.orElse(ClusterConfig.DEFAULT_IDLE_TIMEOUT), fixedIdleTimeout.isEmpty(),
                maxIdle, loadBalancer, slowStart, healthCheck, select.orElse(Map.of()), shared, concurrency.get(),
                sticky, dnsRefresh, app, kubernetes, tls, protocol, http2.get()));
    }

    /**
     * A Kubernetes cluster's endpoints are the Service's: endpoints listed or selected beside
     * them, an app, or a DNS refresh (the watch follows changes as they happen) would mean two
     * sources of truth for one set.
     */
    private void refuseBesideKubernetes(Fields f) {
        for (String key : List.of("endpoints", "select", "app", "dns_refresh")) {
            f.optional(key).ifPresent(n -> values.invalid(n, f.path(key), switch (key) {
                case "dns_refresh" -> "a cluster with 'kubernetes' follows its Service's EndpointSlices as they "
                        + "change (a watch, not a refresh); remove 'dns_refresh'";
                case "app" -> "a cluster's endpoints come either from 'kubernetes' or from an 'app', not both";
                default -> "a cluster with 'kubernetes' takes its endpoints from the Service's EndpointSlices; "
                        + "remove '" + key + "', or make it a cluster of its own";
            }));
        }
    }

    /**
     * Two clusters watching the same Service send traffic to the same pods: the overlapping-
     * selectors incident in its plainest form, refused unless both say {@code shared: true}.
     * (Different Services that select the same pods are found on the live cluster: see
     * {@code kubernetes.Overlaps}.)
     */
    private void checkSameService() {
        for (int i = 0; i < watched.size(); i++) {
            for (int j = i + 1; j < watched.size(); j++) {
                Watched a = watched.get(i);
                Watched b = watched.get(j);
                KubernetesConfig ka = a.kubernetes();
                KubernetesConfig kb = b.kubernetes();
                if (ka.service().equals(kb.service()) && ka.namespace().equals(kb.namespace())
                        && ka.kubeconfig().equals(kb.kubeconfig()) && !(ka.shared() && kb.shared())) {
                    values.problems().add(b.at(), "clusters '" + a.cluster() + "' (at " + a.at() + ") and '"
                            + b.cluster() + "' both watch Service '" + kb.describe() + "', so they send traffic to the "
                            + "same pods; say 'shared: true' in both 'kubernetes' blocks if that is meant");
                }
            }
        }
    }

    /**
     * At least {@link #SHORTEST_DNS_REFRESH}. On a cluster whose endpoints are all IP literals it
     * changes nothing: a warning, not an error, so one cluster template can serve both kinds.
     */
    private Optional<Duration> dnsRefresh(YamlNode node, String path, List<EndpointConfig> endpoints) {
        Optional<Duration> refresh = values.duration(node, path);
        if (refresh.isPresent() && refresh.get().compareTo(SHORTEST_DNS_REFRESH) < 0) {
            values.invalid(node, path, Durations.format(refresh.get()) + " is too short; at least "
                    + Durations.format(SHORTEST_DNS_REFRESH) + " (every name is asked that often)");
            return Optional.empty();
        }
        if (refresh.isPresent() && !endpoints.isEmpty() && endpoints.stream().allMatch(e -> e.address().isIpLiteral())) {
            values.problems().warn(node.at(), path + ": every endpoint of this cluster is an IP address, so there is "
                    + "no name to ask again; dns_refresh changes nothing here");
        }
        return refresh;
    }

    /** A non-empty map of label to value. */
    private Optional<Map<String, String>> selector(YamlNode node, String path) {
        return values.map(node, path).flatMap(map -> {
            if (map.entries().isEmpty()) {
                values.invalid(node, path, "an empty selector would take every endpoint of the inventory; "
                        + "list the labels an endpoint must carry, e.g. { app: web }");
                return Optional.empty();
            }
            Map<String, String> labels = labels(node, path);
            return labels.size() == map.entries().size() ? Optional.of(labels) : Optional.empty();
        });
    }

    /** The inventory endpoints {@code select} takes for cluster {@code name}; reports a selector that takes none. */
    private List<EndpointConfig> selected(String name, Map<String, String> select, YamlNode selectNode, String path,
                                          FirstSeen<HostPort> listedAt, boolean nothingListed, boolean shared) {
        if (!inventory.present()) {
            values.invalid(selectNode, path, "there is no top-level 'endpoints' inventory to select from; list the "
                    + "endpoints there with their labels, e.g. endpoints: [{ address: 10.0.0.5:3000, labels: { app: web } }]");
            return List.of();
        }
        List<Inventory.Entry> chosen = inventory.select(select);
        if (chosen.isEmpty() && nothingListed) {
            String have = inventory.valuesFor(select);
            values.problems().add(selectNode.at(), "cluster '" + name + "' has no endpoints: select " + describe(select)
                    + " matches none of the " + inventory.size() + " endpoints in the inventory"
                    + (have.isEmpty() ? "" : " (it has " + have + ")"));
        }
        List<EndpointConfig> endpoints = new ArrayList<>();
        for (Inventory.Entry entry : chosen) {
            HostPort address = entry.endpoint().address();
            Optional<Position> listed = listedAt.firstAt(address);
            if (listed.isPresent()) {
                values.problems().add(selectNode.at(), "cluster '" + name + "' lists endpoint '" + address + "' at "
                        + listed.get() + " and also selects it; it would get twice the traffic");
                continue;
            }
            endpoints.add(entry.endpoint());
            memberships.add(new Membership(name, address, selectNode.at(), true, shared));
        }
        return endpoints;
    }

    /**
     * An endpoint in two clusters, where a selector put it in at least one, is the overlapping-
     * selectors incident: traffic for one service reaching another's pods. Allowed only when both
     * clusters say {@code shared: true}. One problem per pair of clusters, naming both.
     */
    private void checkSharing() {
        record Pair(Membership first, Membership second) {}
        Map<List<String>, Pair> pairs = new LinkedHashMap<>();
        Map<List<String>, List<HostPort>> overlaps = new LinkedHashMap<>();
        Map<HostPort, List<Membership>> byAddress = new LinkedHashMap<>();
        memberships.forEach(m -> byAddress.computeIfAbsent(m.address(), a -> new ArrayList<>()).add(m));
        byAddress.forEach((address, in) -> {
            for (int i = 0; i < in.size(); i++) {
                for (int j = i + 1; j < in.size(); j++) {
                    Membership a = in.get(i);
                    Membership b = in.get(j);
                    if (a.cluster().equals(b.cluster()) || !(a.selected() || b.selected()) || (a.shared() && b.shared())) {
                        continue;
                    }
                    List<String> key = List.of(a.cluster(), b.cluster());
                    pairs.putIfAbsent(key, new Pair(a, b));
                    overlaps.computeIfAbsent(key, k -> new ArrayList<>()).add(address);
                }
            }
        });
        pairs.forEach((key, pair) -> {
            List<HostPort> addresses = overlaps.get(key);
            Membership a = pair.first();
            Membership b = pair.second();
            String which = addresses.size() == 1
                    ? "endpoint '" + addresses.get(0) + "' belongs"
                    : "endpoints " + addresses.stream().limit(3).map(x -> "'" + x + "'").collect(Collectors.joining(", "))
                            + (addresses.size() > 3 ? " and " + (addresses.size() - 3) + " more" : "") + " belong";
            String sharedNote = a.shared() != b.shared()
                    ? " ('" + (a.shared() ? a : b).cluster() + "' sets it, '" + (a.shared() ? b : a).cluster() + "' does not)"
                    : "";
            values.problems().add(b.at(), which + " to both cluster '" + a.cluster() + "' (" + how(a) + ") and cluster '"
                    + b.cluster() + "' (" + how(b) + "); an endpoint serves one cluster unless both clusters set "
                    + "'shared: true'" + sharedNote);
        });
    }

    private static String how(Membership m) {
        return (m.selected() ? "select at " : "listed at ") + m.at();
    }

    /** {@code {app: web, track: stable}}, as a selector is written. */
    static String describe(Map<String, String> labels) {
        return labels.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
    }

    private List<EndpointConfig> endpoints(YamlNode node, String path, FirstSeen<HostPort> seen, boolean required) {
        List<EndpointConfig> endpoints = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty() && required) {
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

    /**
     * {@code h2} is negotiated by ALPN inside TLS, so it needs the cluster's {@code tls};
     * {@code h2c} is cleartext, so a cluster with {@code tls} cannot have it.
     */
    private Optional<ClusterConfig.Protocol> protocol(YamlNode node, String path, boolean tls) {
        List<String> names = Arrays.stream(ClusterConfig.Protocol.values()).map(ClusterConfig.Protocol::text).toList();
        return values.parsed(node, path, "a protocol name", text -> {
            int index = names.indexOf(text);
            if (index < 0) {
                String help = Suggestions.closest(text, names).map(c -> " (did you mean '" + c + "'?)")
                        .orElse(" (supported: " + String.join(", ", names) + ")");
                return Parsed.invalid("unknown protocol '" + text + "'" + help);
            }
            ClusterConfig.Protocol protocol = ClusterConfig.Protocol.values()[index];
            if (protocol == ClusterConfig.Protocol.H2 && !tls) {
                return Parsed.invalid("h2 is HTTP/2 over TLS and needs the cluster's 'tls'; use h2c for "
                        + "HTTP/2 in cleartext");
            }
            if (protocol == ClusterConfig.Protocol.H2C && tls) {
                return Parsed.invalid("h2c is HTTP/2 in cleartext, but the cluster has 'tls'; use h2 for "
                        + "HTTP/2 over TLS");
            }
            return Parsed.ok(protocol);
        });
    }

    /**
     * {@code http2: { ping_interval, ping_timeout }}, only on a cluster that speaks HTTP/2 (a
     * protocol already refused says nothing of which). Empty after an error.
     */
    private Optional<UpstreamHttp2Config> http2(YamlNode node, String path, Optional<ClusterConfig.Protocol> protocol) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, HTTP2_KEYS, values.problems());
        if (protocol.isPresent() && !protocol.get().multiplexed()) {
            values.invalid(node, path, "this cluster's protocol is " + protocol.get().text() + ", and these are "
                    + "settings of HTTP/2 connections; set 'protocol: h2c' (or 'h2' with 'tls'), or remove 'http2'");
        }
        Optional<YamlNode> intervalNode = f.optional("ping_interval");
        Optional<Duration> interval = intervalNode.isPresent()
                ? values.durationOrOff(intervalNode.get(), f.path("ping_interval"), "10s")
                : Optional.of(UpstreamHttp2Config.DEFAULT_PING_INTERVAL);
        Optional<YamlNode> timeoutNode = f.optional("ping_timeout");
        Duration timeout = timeoutNode.flatMap(n -> values.duration(n, f.path("ping_timeout")))
                .orElse(UpstreamHttp2Config.DEFAULT_PING_TIMEOUT);
        if (timeoutNode.isPresent() && interval.isEmpty() && values.problems().count() == before) {
            values.invalid(timeoutNode.get(), f.path("ping_timeout"), "with 'ping_interval: off' no PING is sent, "
                    + "so there is none to wait for; remove 'ping_timeout', or give 'ping_interval' a duration");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new UpstreamHttp2Config(interval, timeout));
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
