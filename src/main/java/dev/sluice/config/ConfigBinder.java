package dev.sluice.config;

import java.time.Duration;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/** Binds the whole tree into a {@link SluiceConfig}: the top-level sections and the checks that span them. */
final class ConfigBinder {
    private static final List<String> KEYS = List.of("server", "listeners", "endpoints", "routes", "clusters", "admin",
            "access_log", "drain", "redis", "versions", "incidents", "alerts", "metrics");
    private static final List<String> DRAIN_KEYS = List.of("delay", "timeout");
    private static final List<String> SERVER_KEYS = List.of("event_loop_threads");
    private static final List<String> VERSIONS_KEYS = List.of("auto_rollback");
    private static final List<String> METRICS_KEYS = List.of("endpoint_labels");
    private static final List<String> ADMIN_KEYS = List.of("address", "token", "token_file");
    private static final List<String> ACCESS_LOG_KEYS = List.of("enabled", "path", "redact_query");

    /** {@code 0s}, {@code 0ms}...: "no delay", which only {@code drain.delay} accepts. */
    private static final Pattern ZERO = Pattern.compile("0+(ms|s|m|h)");

    private final Values values;
    private final String source;
    private final ListenerBinder listeners;
    private final RouteBinder routes;
    private final ClusterBinder clusters;
    private final RedisBinder redis;
    private final IncidentsBinder incidents;

    ConfigBinder(Problems problems, String source) {
        this.values = new Values(problems);
        this.source = source;
        this.listeners = new ListenerBinder(values);
        this.routes = new RouteBinder(values);
        this.clusters = new ClusterBinder(values);
        this.redis = new RedisBinder(values);
        this.incidents = new IncidentsBinder(values);
    }

    /** The config, or empty when anything was reported. */
    Optional<SluiceConfig> bind(YamlNode root) {
        if (!(root instanceof YamlNode.Mapping map)) {
            values.problems().add(root.at(), "the config must be a map with 'listeners', 'routes' and 'clusters', got "
                    + root.describe());
            return Optional.empty();
        }
        Fields f = Fields.of(map, Paths.ROOT, KEYS, values.problems());
        ServerConfig server = f.optional("server").flatMap(this::server).orElse(ServerConfig.DEFAULT);
        List<ListenerConfig> listenerConfigs = f.required("listeners").map(listeners::bind).orElse(List.of());
        // The inventory before the clusters that select from it.
        Inventory inventory = f.optional("endpoints").map(clusters::inventory).orElse(Inventory.NONE);
        // Clusters first: routes are checked against the names they define.
        List<ClusterConfig> clusterConfigs = f.required("clusters").map(n -> clusters.bind(n, inventory))
                .orElse(List.of());
        inventory.unselected().forEach(e -> values.problems().warn(e.at(), "endpoint '" + e.endpoint().address()
                + "' is in the inventory but no cluster selects it, so it gets no traffic"));
        List<RouteConfig> routeConfigs = f.required("routes").map(n -> routes.bind(n, clusters.definedNames()))
                .orElse(List.of());
        Optional<AdminConfig> admin = f.optional("admin").flatMap(this::admin);
        AccessLogConfig accessLog = f.optional("access_log").flatMap(this::accessLog).orElse(AccessLogConfig.STDOUT);
        DrainConfig drain = f.optional("drain").flatMap(n -> drain(n, routeConfigs)).orElse(DrainConfig.DEFAULT);
        Optional<YamlNode> redisNode = f.optional("redis");
        Optional<RedisConfig> redisConfig = redisNode.flatMap(redis::bind);
        if (redisNode.isEmpty()) {
            redis.refuseGlobalScopes(routes.globalScopes());
        }
        checkAppPorts(admin);
        VersionsConfig versions = f.optional("versions").flatMap(this::versions).orElse(VersionsConfig.DEFAULT);
        IncidentsConfig incidentsConfig = f.optional("incidents").flatMap(incidents::incidents)
                .orElse(IncidentsConfig.DEFAULT);
        Optional<AlertsConfig> alerts = f.optional("alerts").flatMap(incidents::alerts);
        MetricsConfig metrics = f.optional("metrics").flatMap(this::metrics).orElse(MetricsConfig.DEFAULT);
        if (values.problems().count() > 0) {
            return Optional.empty();
        }
        return Optional.of(new SluiceConfig(source, server, listenerConfigs, routeConfigs, clusterConfigs, admin,
                accessLog, drain, redisConfig, versions, incidentsConfig, alerts, metrics));
    }

    /** An app's fixed port must be free for it: not a listener's, nor the admin API's. */
    private void checkAppPorts(Optional<AdminConfig> admin) {
        for (AppBinder.FixedPort app : clusters.appPorts()) {
            HostPort address = app.address();
            listeners.addressAt(address).map(at -> "listener defined at " + at)
                    .or(() -> listeners.clashingWith(address).map(other -> "listener '" + other + "' (defined at "
                            + listeners.at(other) + ")"))
                    .or(() -> admin.filter(a -> a.address().equals(address) || ListenerBinder.clash(a.address(), address))
                            .map(a -> "admin API's address '" + a.address() + "'"))
                    .ifPresent(taken -> values.invalid(app.node(), app.path(), "port " + address.port()
                            + " clashes with the " + taken + ": the app could not bind it"));
        }
    }

    /** {@code drain: { delay, timeout }}. A delay of {@code 0s} is allowed: nothing in front watches /ready. */
    private Optional<DrainConfig> drain(YamlNode node, List<RouteConfig> routeConfigs) {
        return values.map(node, "drain").map(map -> {
            Fields f = Fields.of(map, "drain", DRAIN_KEYS, values.problems());
            Duration delay = f.optional("delay").flatMap(n -> n instanceof YamlNode.Scalar s && ZERO.matcher(s.text()).matches()
                            ? Optional.of(Duration.ZERO) : values.duration(n, f.path("delay")))
                    .orElse(DrainConfig.DEFAULT_DELAY);
            Optional<YamlNode> timeoutNode = f.optional("timeout");
            Duration timeout = timeoutNode.flatMap(n -> values.duration(n, f.path("timeout")))
                    .orElse(DrainConfig.DEFAULT_TIMEOUT);
            timeoutNode.ifPresent(n -> routeConfigs.stream()
                    .filter(r -> r.timeout().compareTo(timeout) > 0)
                    .max(Comparator.comparing(RouteConfig::timeout))
                    .ifPresent(r -> values.problems().warn(n.at(), "drain.timeout: " + Durations.format(timeout)
                            + " is shorter than the timeout of route '" + r.name() + "' (" + Durations.format(r.timeout())
                            + "); a request still waiting for its response when a drain ends is cut")));
            return new DrainConfig(delay, timeout);
        });
    }

    /** {@code versions: { auto_rollback }}; see {@link VersionsConfig#DEFAULT} for why it is off. */
    private Optional<VersionsConfig> versions(YamlNode node) {
        return values.map(node, "versions").map(map -> {
            Fields f = Fields.of(map, "versions", VERSIONS_KEYS, values.problems());
            return new VersionsConfig(f.optional("auto_rollback").flatMap(n -> values.bool(n, f.path("auto_rollback")))
                    .orElse(VersionsConfig.DEFAULT.autoRollback()));
        });
    }

    /** {@code metrics: { endpoint_labels }}; see {@link MetricsConfig#DEFAULT} for why they are on. */
    private Optional<MetricsConfig> metrics(YamlNode node) {
        return values.map(node, "metrics").map(map -> {
            Fields f = Fields.of(map, "metrics", METRICS_KEYS, values.problems());
            return new MetricsConfig(f.optional("endpoint_labels")
                    .flatMap(n -> values.bool(n, f.path("endpoint_labels")))
                    .orElse(MetricsConfig.DEFAULT.endpointLabels()));
        });
    }

    private Optional<ServerConfig> server(YamlNode node) {
        return values.map(node, "server").flatMap(map -> {
            Fields f = Fields.of(map, "server", SERVER_KEYS, values.problems());
            // 0 keeps the documented meaning "one per core"; see ServerConfig.
            return f.optional("event_loop_threads")
                    .flatMap(n -> values.integer(n, f.path("event_loop_threads"), 0, Integer.MAX_VALUE))
                    .map(ServerConfig::new);
        });
    }

    private Optional<AdminConfig> admin(YamlNode node) {
        return values.map(node, "admin").flatMap(map -> {
            Fields f = Fields.of(map, "admin", ADMIN_KEYS, values.problems());
            Optional<YamlNode> addressNode = f.required("address");
            Optional<AdminToken> token = adminToken(f);
            return addressNode.flatMap(n -> values.address(n, f.path("address"), 0)).map(address -> {
                listeners.addressAt(address).ifPresentOrElse(listenerAt -> values.invalid(addressNode.get(), f.path("address"),
                        "'" + address + "' is already the address of the listener defined at " + listenerAt),
                        () -> listeners.clashingWith(address).ifPresent(other -> values.invalid(addressNode.get(),
                                f.path("address"), "'" + address + "' clashes with listener address '" + other
                                        + "' (defined at " + listeners.at(other) + "): both cannot be bound")));
                // Reads /status and the config's text, and reloads, rolls back and drains: from
                // anywhere but this host only with a token, checked here so `check` says it too.
                if (!AdminConfig.isLoopback(address) && token.isEmpty() && !f.optional("token").isPresent()
                        && !f.optional("token_file").isPresent()) {
                    values.invalid(addressNode.get(), f.path("address"), "'" + address + "' is not a loopback address, "
                            + "so the admin API needs a token: add admin.token_file (a file holding it, e.g. made with "
                            + "`openssl rand -hex 32`), or bind 127.0.0.1");
                }
                return new AdminConfig(address, token);
            });
        });
    }

    /**
     * {@code token} (in the file) or {@code token_file} (an absolute path to a file holding it, so
     * the config can be shared, versioned and shown by {@code GET /config} without the secret).
     * The file is read here, at load: {@code check} finds a missing or malformed one, and a
     * reload or rollback reads it again.
     */
    private Optional<AdminToken> adminToken(Fields f) {
        Optional<YamlNode> inline = f.optional("token");
        Optional<YamlNode> file = f.optional("token_file");
        if (inline.isPresent() && file.isPresent()) {
            values.invalid(file.get(), f.path("token_file"), "give either 'token' or 'token_file', not both");
            return Optional.empty();
        }
        if (inline.isPresent()) {
            return values.parsed(inline.get(), f.path("token"), "a token", AdminToken::parse);
        }
        return file.flatMap(n -> values.text(n, f.path("token_file"), "a file path").flatMap(name -> {
            java.nio.file.Path path = java.nio.file.Path.of(name);
            if (!path.isAbsolute()) {
                // A rollback loads a stored copy of the config from the state directory: a relative
                // path would be read from there.
                values.invalid(n, f.path("token_file"), "'" + name + "' must be an absolute path");
                return Optional.empty();
            }
            String text;
            try {
                text = java.nio.file.Files.readString(path).strip();
            } catch (java.nio.file.NoSuchFileException e) {
                values.invalid(n, f.path("token_file"), "cannot read '" + name + "': file not found");
                return Optional.empty();
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                values.invalid(n, f.path("token_file"), "cannot read '" + name + "': " + e.getMessage());
                return Optional.empty();
            }
            warnIfOthersCanRead(n, path);
            return switch (AdminToken.parse(text)) {
                case Parsed.Ok<AdminToken> ok -> Optional.of(ok.value());
                case Parsed.Invalid<AdminToken> invalid -> {
                    values.invalid(n, f.path("token_file"), "the file '" + name + "' does not hold a usable token: "
                            + invalid.reason());
                    yield Optional.empty();
                }
            };
        }));
    }

    /** As ssh does for a private key: a token that other users of the host can read is theirs too. */
    private void warnIfOthersCanRead(YamlNode node, java.nio.file.Path path) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions =
                    java.nio.file.Files.getPosixFilePermissions(path);
            if (permissions.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                values.problems().warn(node.at(), "admin.token_file: '" + path + "' can be read by every user of "
                        + "this host; chmod 600 it (or 640 with a group of its own)");
            }
        } catch (UnsupportedOperationException | java.io.IOException e) {
            // Not a POSIX file system, or the file just became unreadable (reported when read): nothing to say.
        }
    }

    /** Query parameter names: non-empty, without the characters that delimit them in a query. */
    private List<String> parameterNames(YamlNode node, String path) {
        List<String> names = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String at = Paths.item(path, i);
                values.text(item, at, "a query parameter name").ifPresent(name -> {
                    if (name.isEmpty() || name.chars().anyMatch(c -> c == '&' || c == '=' || c == '?' || c == '#' || c <= ' ')) {
                        values.invalid(item, at, "'" + name + "' is not a query parameter name (no '&', '=', '?', '#' or spaces)");
                    } else {
                        names.add(name);
                    }
                });
            }
        });
        return names;
    }

    /** {@code false}/{@code off} turns the log off; a map chooses a file. Default: JSON lines on stdout. */
    private Optional<AccessLogConfig> accessLog(YamlNode node) {
        String path = "access_log";
        if (node instanceof YamlNode.Scalar scalar && !scalar.isEmpty()) {
            return switch (scalar.text().toLowerCase(Locale.ROOT)) {
                case "false", "off" -> Optional.of(new AccessLogConfig(false, Optional.empty()));
                case "true", "on" -> Optional.of(AccessLogConfig.STDOUT);
                default -> {
                    values.invalid(node, path, "expected false, off, or a map with 'path', got " + node.describe());
                    yield Optional.empty();
                }
            };
        }
        return values.map(node, path).map(map -> {
            Fields f = Fields.of(map, path, ACCESS_LOG_KEYS, values.problems());
            boolean enabled = f.optional("enabled").flatMap(n -> values.bool(n, f.path("enabled"))).orElse(true);
            Optional<String> file = f.optional("path").flatMap(n -> values.text(n, f.path("path"), "a file path"));
            Optional<List<String>> redact = f.optional("redact_query").map(n -> parameterNames(n, f.path("redact_query")));
            return new AccessLogConfig(enabled, file, redact);
        });
    }
}
