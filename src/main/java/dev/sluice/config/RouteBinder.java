package dev.sluice.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/** Binds {@code routes[]}: names unique, every route's cluster defined, and no route hidden behind an earlier one. */
final class RouteBinder {
    private static final String PATH = "routes";
    private static final List<String> KEYS = List.of("name", "match", "cluster", "redirect", "respond", "timeout",
            "retry", "rate_limits", "strip_prefix", "rewrite", "host", "request_headers", "response_headers", "max_body",
            "allow_ips", "deny_ips", "basic_auth", "cors", "forward_auth", "compress",
            "mirror", "record", "backends", "sticky", "canary");
    /** What a route does to a request it forwards: meaningless on a route that answers by itself. */
    private static final List<String> FORWARDING_KEYS = List.of("timeout", "retry", "rate_limits", "strip_prefix",
            "rewrite", "host", "request_headers", "forward_auth", "compress", "mirror", "record");
    private static final List<String> TARGETS = List.of("cluster", "backends", "redirect", "respond");
    private static final List<String> RETRY_KEYS = List.of("max_retries", "retry_on_status", "backoff");

    private final Values values;
    private final MatchBinder matches;
    private final RateLimitBinder rateLimits;
    private final RouteRulesBinder rules;
    private final AccessBinder access;
    private final ForwardAuthBinder forwardAuth;
    private final CompressionBinder compression;
    private final TapBinder taps;
    private final SplitBinder splits;
    private final FirstSeen<String> names = new FirstSeen<>();

    RouteBinder(Values values) {
        this.values = values;
        this.matches = new MatchBinder(values);
        this.rateLimits = new RateLimitBinder(values);
        this.rules = new RouteRulesBinder(values);
        this.access = new AccessBinder(values);
        this.forwardAuth = new ForwardAuthBinder(values);
        this.compression = new CompressionBinder(values);
        this.taps = new TapBinder(values);
        this.splits = new SplitBinder(values);
    }

    /** Where the routes bound so far wrote {@code scope: global}. */
    List<RateLimitBinder.GlobalScope> globalScopes() {
        return rateLimits.globalScopes();
    }

    /**
     * @param clusters the defined cluster names, or empty when the clusters section itself is
     *     broken (then every route would be "undefined", which helps nobody)
     */
    List<RouteConfig> bind(YamlNode node, Optional<Set<String>> clusters) {
        List<RouteConfig> routes = new ArrayList<>();
        List<Position> positions = new ArrayList<>();
        values.list(node, PATH).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, PATH, "at least one route is required");
            }
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                bindOne(item, i, clusters).ifPresent(route -> {
                    routes.add(route);
                    positions.add(item.at());
                });
            }
        });
        warnShadowed(routes, positions);
        return routes;
    }

    /** A route that an earlier route fully covers never gets a request: legal, but never what was meant. */
    private void warnShadowed(List<RouteConfig> routes, List<Position> positions) {
        for (int later = 1; later < routes.size(); later++) {
            for (int earlier = 0; earlier < later; earlier++) {
                if (RouteShadowing.covers(routes.get(earlier).match(), routes.get(later).match())) {
                    values.problems().warn(positions.get(later), "route '" + routes.get(later).name()
                            + "' can never match: route '" + routes.get(earlier).name() + "' (at "
                            + positions.get(earlier) + ") comes first and matches every request it would; "
                            + "move the more specific route up");
                    break;
                }
            }
        }
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
        List<String> targets = TARGETS.stream().filter(k -> f.optional(k).isPresent()).toList();
        if (targets.isEmpty()) {
            values.problems().add(f.at(), "missing required key 'cluster' " + Paths.where(path)
                    + " (or 'backends' to split across clusters, or 'redirect' or 'respond' for a route Sluice "
                    + "answers itself)");
        } else if (targets.size() > 1) {
            values.problems().add(f.keyAt(targets.get(1)), path + ": '" + targets.get(0) + "' and '" + targets.get(1)
                    + "' together; a route sends requests to a cluster, splits them across clusters "
                    + "('backends'), redirects them or answers them ('respond'): choose one");
        }
        Optional<YamlNode> clusterNode = f.optional("cluster");
        Optional<String> cluster = clusterNode.flatMap(n -> values.name(n, f.path("cluster")));
        if (cluster.isPresent() && clusters.isPresent() && !clusters.get().contains(cluster.get())) {
            values.problems().add(clusterNode.get().at(), "route '" + name + "' refers to undefined cluster '"
                    + cluster.get() + "'" + Suggestions.didYouMean(cluster.get(), clusters.get()));
        }
        Optional<LocalAnswerConfig> answer = f.optional("redirect").flatMap(n -> rules.redirect(n, f.path("redirect")))
                .or(() -> f.optional("respond").flatMap(n -> rules.respond(n, f.path("respond"))));
        Optional<SplitConfig> split = splits.bind(f, name, clusters);
        boolean forwards = clusterNode.isPresent() || f.optional("backends").isPresent();
        // A split route's cluster is its first backend's: what counts as "the route's cluster" where one is meant.
        String primary = split.map(s -> s.backends().getFirst().cluster()).or(() -> cluster).orElse("");
        if (!forwards && !targets.isEmpty()) {
            for (String key : FORWARDING_KEYS) {
                if (f.optional(key).isPresent()) {
                    values.problems().add(f.keyAt(key), f.path(key) + ": only for a route with a cluster; this route "
                            + "answers by itself ('" + targets.get(0) + "')");
                }
            }
        }
        Duration timeout = f.optional("timeout").flatMap(n -> values.duration(n, f.path("timeout")))
                .orElse(RouteConfig.DEFAULT_TIMEOUT);
        RetryConfig retry = f.optional("retry").map(n -> retry(n, f.path("retry"))).orElse(RetryConfig.DEFAULT);
        List<RateLimitConfig> limits = f.optional("rate_limits")
                .map(n -> rateLimits.bind(n, f.path("rate_limits"), name)).orElse(List.of());
        PathRewriteConfig rewrite = !forwards ? PathRewriteConfig.NONE : rules.rewrite(f, match);
        UpstreamHostConfig host = f.optional("host").map(n -> rules.host(n, f.path("host")))
                .orElse(UpstreamHostConfig.CLIENT);
        HeaderRulesConfig requestHeaders = f.optional("request_headers")
                .map(n -> rules.headers(n, f.path("request_headers"))).orElse(HeaderRulesConfig.NONE);
        HeaderRulesConfig responseHeaders = f.optional("response_headers")
                .map(n -> rules.headers(n, f.path("response_headers"))).orElse(HeaderRulesConfig.NONE);
        OptionalLong maxBody = f.optional("max_body").flatMap(n -> size(n, f.path("max_body")))
                .map(OptionalLong::of).orElse(OptionalLong.empty());
        AccessConfig accessConfig = access.bind(f);
        Optional<ForwardAuthConfig> auth = !forwards ? Optional.empty()
                : f.optional("forward_auth").flatMap(n -> forwardAuth.bind(n, f.path("forward_auth"), clusters));
        Optional<CompressionConfig> compress = f.optional("compress")
                .flatMap(n -> compression.bind(n, f.path("compress")));
        Optional<MirrorConfig> mirror = !forwards ? Optional.empty() : f.optional("mirror")
                .flatMap(n -> taps.mirror(n, f.path("mirror"), primary, clusters));
        Optional<RecordConfig> record = !forwards ? Optional.empty() : f.optional("record")
                .flatMap(n -> taps.record(n, f.path("record")));
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new RouteConfig(name, match.get(), primary, timeout, retry, limits, rewrite, host,
                requestHeaders, responseHeaders, answer, maxBody, accessConfig, auth, compress, mirror, record, split));
    }

    private Optional<Integer> size(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Kind.INTEGER) {
            return values.integer(node, path, 1, Integer.MAX_VALUE);
        }
        return values.parsed(node, path, "a size like 65536 or 10MiB", Sizes::parse);
    }

    private RetryConfig retry(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return RetryConfig.DEFAULT;
        }
        Fields f = Fields.of(map.get(), path, RETRY_KEYS, values.problems());
        int max = f.optional("max_retries").flatMap(n -> values.integer(n, f.path("max_retries"), 0, 10))
                .orElse(RetryConfig.DEFAULT_MAX_RETRIES);
        List<Integer> statuses = new ArrayList<>();
        f.optional("retry_on_status").flatMap(n -> values.list(n, f.path("retry_on_status"))).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                values.integer(list.items().get(i), Paths.item(f.path("retry_on_status"), i), 500, 599)
                        .ifPresent(statuses::add);
            }
        });
        Duration backoff = f.optional("backoff").flatMap(n -> values.duration(n, f.path("backoff")))
                .orElse(RetryConfig.DEFAULT_BACKOFF);
        return new RetryConfig(max, statuses, backoff);
    }
}
