package dev.sluice.config;

import dev.sluice.config.AppConfig.StartMode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Binds {@code clusters[].app}. What can be checked before anything runs is: the command is an
 * executable file (on {@code PATH} when it has no slash), the working directory exists, the fixed
 * port is nobody else's (the clashes with listeners and the admin API are checked by
 * {@link ConfigBinder}, which knows them).
 */
final class AppBinder {
    private static final List<String> KEYS = List.of("command", "start_url", "workdir", "env", "port", "start", "ready",
            "idle_stop", "hold", "stop_grace", "logs", "backoff");
    private static final List<String> READY_KEYS = List.of("path", "timeout");
    private static final List<String> HOLD_KEYS = List.of("max", "timeout");
    private static final List<String> BACKOFF_KEYS = List.of("first", "max");
    private static final List<String> START_MODES = List.of("on_demand", "always");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /** A fixed port an app listens on, where it was written, for the clash checks. */
    record FixedPort(String cluster, HostPort address, YamlNode node, String path) {}

    private final Values values;
    private final FirstSeen<Integer> ports = new FirstSeen<>();
    private final List<FixedPort> fixedPorts = new ArrayList<>();

    AppBinder(Values values) {
        this.values = values;
    }

    /** Every fixed app port bound so far. */
    List<FixedPort> fixedPorts() {
        return List.copyOf(fixedPorts);
    }

    Optional<AppConfig> bind(String cluster, YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> commandNode = f.optional("command");
        Optional<YamlNode> startUrlNode = f.optional("start_url");
        if (commandNode.isPresent() && startUrlNode.isPresent()) {
            values.invalid(startUrlNode.get(), f.path("start_url"), "give either 'command' (Sluice runs the app) or "
                    + "'start_url' (something else runs it and Sluice asks it to start), not both");
        } else if (commandNode.isEmpty() && startUrlNode.isEmpty()) {
            values.problems().add(f.at(), "missing required key 'command' in " + path
                    + " (the app's argv, e.g. [gunicorn, --bind, \"127.0.0.1:{port}\", app:app]; or 'start_url')");
        }
        Optional<Path> workdir = f.optional("workdir").flatMap(n -> directory(n, f.path("workdir")));
        List<String> command = commandNode.map(n -> command(n, f.path("command"), workdir)).orElse(List.of());
        Optional<URI> startUrl = startUrlNode.flatMap(n -> startUrl(n, f.path("start_url")));
        Map<String, String> env = f.optional("env").map(n -> env(n, f.path("env"))).orElse(Map.of());
        int port = f.optional("port").flatMap(n -> port(cluster, n, f.path("port"))).orElse(AppConfig.AUTO_PORT);
        if (startUrlNode.isPresent() && f.optional("port").isPresent()) {
            values.invalid(f.optional("port").get(), f.path("port"), "an app with 'start_url' is reached at the "
                    + "cluster's endpoints; 'port' is for an app Sluice runs with 'command'");
        }
        StartMode start = f.optional("start").flatMap(n -> startMode(n, f.path("start"))).orElse(StartMode.ON_DEMAND);
        String readyPath = AppConfig.DEFAULT_READY_PATH;
        Duration readyTimeout = AppConfig.DEFAULT_READY_TIMEOUT;
        Optional<YamlNode.Mapping> ready = f.optional("ready").flatMap(n -> values.map(n, f.path("ready")));
        if (ready.isPresent()) {
            Fields r = Fields.of(ready.get(), f.path("ready"), READY_KEYS, values.problems());
            readyPath = r.optional("path").flatMap(n -> readyPath(n, r.path("path"))).orElse(readyPath);
            readyTimeout = r.optional("timeout").flatMap(n -> values.duration(n, r.path("timeout"))).orElse(readyTimeout);
        }
        Optional<Duration> idleStop = f.optional("idle_stop").flatMap(n -> values.durationOrOff(n, f.path("idle_stop"), "15m"));
        int holdMax = AppConfig.DEFAULT_HOLD_MAX;
        Duration holdTimeout = AppConfig.DEFAULT_HOLD_TIMEOUT;
        Optional<YamlNode.Mapping> hold = f.optional("hold").flatMap(n -> values.map(n, f.path("hold")));
        if (hold.isPresent()) {
            Fields h = Fields.of(hold.get(), f.path("hold"), HOLD_KEYS, values.problems());
            holdMax = h.optional("max").flatMap(n -> values.integer(n, h.path("max"), 0, 1_000_000)).orElse(holdMax);
            holdTimeout = h.optional("timeout").flatMap(n -> values.duration(n, h.path("timeout"))).orElse(holdTimeout);
        }
        Duration stopGrace = f.optional("stop_grace").flatMap(n -> values.duration(n, f.path("stop_grace")))
                .orElse(AppConfig.DEFAULT_STOP_GRACE);
        Optional<Path> logs = f.optional("logs").flatMap(n -> absolutePath(n, f.path("logs")));
        Duration backoff = AppConfig.DEFAULT_BACKOFF;
        Duration backoffMax = AppConfig.DEFAULT_BACKOFF_MAX;
        Optional<YamlNode.Mapping> backoffNode = f.optional("backoff").flatMap(n -> values.map(n, f.path("backoff")));
        if (backoffNode.isPresent()) {
            Fields b = Fields.of(backoffNode.get(), f.path("backoff"), BACKOFF_KEYS, values.problems());
            backoff = b.optional("first").flatMap(n -> values.duration(n, b.path("first"))).orElse(backoff);
            Optional<YamlNode> maxNode = b.optional("max");
            backoffMax = maxNode.flatMap(n -> values.duration(n, b.path("max"))).orElse(backoffMax);
            if (maxNode.isPresent() && backoffMax.compareTo(backoff) < 0) {
                values.invalid(maxNode.get(), b.path("max"), Durations.format(backoffMax) + " is below 'first' ("
                        + Durations.format(backoff) + "); the wait only grows");
            }
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new AppConfig(command, startUrl, workdir, env, port, start, readyPath, readyTimeout,
                idleStop, holdMax, holdTimeout, stopGrace, logs, backoff, backoffMax));
    }

    /** A non-empty list of strings whose first is an executable file. */
    private List<String> command(YamlNode node, String path, Optional<Path> workdir) {
        List<String> argv = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "the command is empty; give the program and its arguments");
                return;
            }
            for (int i = 0; i < list.items().size(); i++) {
                values.text(list.items().get(i), Paths.item(path, i), "an argument").ifPresent(argv::add);
            }
            if (argv.size() == list.items().size()) {
                executable(argv.get(0), workdir).ifPresent(reason ->
                        values.invalid(list.items().get(0), Paths.item(path, 0), reason));
            }
        });
        return argv;
    }

    /** Why {@code program} cannot be run, or empty when it can: a path (with a slash) or a name found on PATH. */
    static Optional<String> executable(String program, Optional<Path> workdir) {
        if (program.contains("/")) {
            Path file;
            try {
                file = workdir.map(d -> d.resolve(program)).orElse(Path.of(program));
            } catch (InvalidPathException e) {
                return Optional.of("'" + program + "' is not a file path");
            }
            if (!Files.isRegularFile(file)) {
                return Optional.of("'" + program + "' does not exist" + (workdir.isPresent() && !Path.of(program).isAbsolute()
                        ? " (relative to workdir " + workdir.get() + ")" : ""));
            }
            return Files.isExecutable(file) ? Optional.empty()
                    : Optional.of("'" + file + "' is not executable (chmod +x it, or run it through its interpreter)");
        }
        String searchPath = Optional.ofNullable(System.getenv("PATH")).orElse("");
        for (String dir : searchPath.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path file = Path.of(dir, program);
            if (Files.isRegularFile(file) && Files.isExecutable(file)) {
                return Optional.empty();
            }
        }
        return Optional.of("'" + program + "' is not an executable found on PATH (" + searchPath
                + "); install it or give its full path");
    }

    private Optional<Path> directory(YamlNode node, String path) {
        return absolutePath(node, path).flatMap(dir -> {
            if (!Files.isDirectory(dir)) {
                values.invalid(node, path, "'" + dir + "' is not a directory");
                return Optional.empty();
            }
            return Optional.of(dir);
        });
    }

    /** Absolute: a rollback loads a stored copy of the config from the state directory, where a relative path would mean something else. */
    private Optional<Path> absolutePath(YamlNode node, String path) {
        return values.text(node, path, "an absolute path").flatMap(text -> {
            try {
                Path p = Path.of(text);
                if (p.isAbsolute()) {
                    return Optional.of(p.normalize());
                }
            } catch (InvalidPathException e) {
                // Reported below like a relative one.
            }
            values.invalid(node, path, "'" + text + "' must be an absolute path");
            return Optional.empty();
        });
    }

    private Optional<URI> startUrl(YamlNode node, String path) {
        return values.text(node, path, "an http:// or https:// URL").flatMap(text -> {
            try {
                URI uri = new URI(text);
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
                    return Optional.of(uri);
                }
            } catch (URISyntaxException e) {
                // Reported below.
            }
            values.invalid(node, path, "expected an http:// or https:// URL, got " + node.describe());
            return Optional.empty();
        });
    }

    private Map<String, String> env(YamlNode node, String path) {
        Map<String, String> env = new LinkedHashMap<>();
        values.map(node, path).ifPresent(map -> map.entries().forEach((name, entry) -> {
            String at = Paths.child(path, name);
            if (!ENV_NAME.matcher(name).matches()) {
                values.problems().add(entry.keyAt(), at + ": '" + name + "' is not an environment variable name "
                        + "(letters, digits and '_', not starting with a digit)");
            } else if (name.equals("PORT")) {
                values.problems().add(entry.keyAt(), at + ": Sluice sets PORT to the app's port; use 'port' to fix it");
            } else {
                values.text(entry.value(), at, "a value (quote numbers and booleans)").ifPresent(v -> env.put(name, v));
            }
        }));
        return env;
    }

    /** {@code auto}, or a port from 1 to 65535 that no other app has. */
    private Optional<Integer> port(String cluster, YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.text().equals("auto")) {
            return Optional.of(AppConfig.AUTO_PORT);
        }
        Optional<Integer> port = values.integer(node, path, 1, 65535);
        port.ifPresent(p -> ports.claim(p, node.at()).ifPresentOrElse(
                first -> values.invalid(node, path, "port " + p + " is already the port of the app at " + first),
                () -> fixedPorts.add(new FixedPort(cluster, new HostPort("127.0.0.1", p), node, path))));
        return port;
    }

    private Optional<StartMode> startMode(YamlNode node, String path) {
        return values.parsed(node, path, "on_demand or always", text -> {
            int index = START_MODES.indexOf(text);
            return index >= 0 ? Parsed.ok(StartMode.values()[index])
                    : Parsed.invalid("expected on_demand or always, got '" + text + "'"
                            + Suggestions.didYouMean(text, START_MODES));
        });
    }

    private Optional<String> readyPath(YamlNode node, String path) {
        return values.text(node, path, "a path like /healthz").flatMap(text -> {
            if (!text.startsWith("/") || text.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
                values.invalid(node, path, "expected a path like /healthz (starting with '/', no spaces), got "
                        + node.describe());
                return Optional.empty();
            }
            return Optional.of(text);
        });
    }
}
