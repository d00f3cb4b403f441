package dev.sluice;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.CheckedConfig;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.ConfigWarning;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.control.ConfigFileWatch;
import dev.sluice.replay.ReplayCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code sluice} command line: {@code run}, {@code check}, {@code demo}, {@code rollback}, {@code versions},
 * {@code apps}, {@code record}, {@code replay}, {@code canary}.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = Sluice.VERSION,
        description = "An HTTP reverse proxy that makes the safe behaviour the default.",
        subcommands = {Sluice.Run.class, Sluice.Check.class, Sluice.Demo.class, Sluice.Rollback.class,
                Sluice.Versions.class, Sluice.AppList.class, RecordCommand.class, ReplayCommand.class,
                CanaryCommand.class})
public final class Sluice implements Callable<Integer> {
    static final String VERSION = "sluice 0.1.0";
    private static final Logger LOG = LoggerFactory.getLogger(Sluice.class);
    /**
     * The default state directory of {@code sluice.yaml} is {@code .sluice.yaml.sluice-state}
     * beside it: next to the file, so the history belongs to the file whatever directory Sluice is
     * started from (a service manager's working directory is often {@code /}); named after it, so
     * two config files in one folder never share a history (a rollback on one applied the other's
     * version 1 when they did).
     */
    static final String STATE_DIR_SUFFIX = ".sluice-state";
    /** The default before it was named after the config file, shared by every file in the folder. */
    static final String SHARED_STATE_DIR_NAME = ".sluice-state";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Sluice()).execute(args));
    }

    /** No subcommand: a mistake, not a request for help (as git and kubectl answer it), so usage on stderr and 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return CommandLine.ExitCode.USAGE;
    }

    static Path defaultStateDir(Path configFile) {
        Path file = configFile.toAbsolutePath().normalize();
        return folderOf(file).resolve("." + file.getFileName() + STATE_DIR_SUFFIX);
    }

    static Path folderOf(Path file) {
        Path parent = file.toAbsolutePath().normalize().getParent();
        return parent == null ? Path.of(".") : parent;
    }

    /** A picocli converter for {@code --bake-period 60s}. */
    static final class DurationOption implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return ConfigLoader.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, version = VERSION, description = "Run the gateway from a config file. SIGHUP reloads it; SIGTERM drains, then exits 0.")
    static final class Run implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "YAML config file")
        Path config;

        @Option(names = "--state-dir", paramLabel = "DIR",
                description = "where applied config versions are kept (default: .FILE.sluice-state next to the config file FILE)")
        Path stateDir;

        @Option(names = "--bake-period", paramLabel = "DURATION", converter = DurationOption.class,
                description = "how long a config must serve before it is the last known good (default: 60s)")
        Duration bakePeriod = Instance.DEFAULT_BAKE_PERIOD;

        @Option(names = "--auto-rollback",
                description = "roll a config version judged bad back to the last known good at once "
                        + "(as versions.auto_rollback: true; default: off)")
        boolean autoRollback;

        @Option(names = "--watch-config",
                description = "apply the config file whenever its content changes, as SIGHUP would (looked at every 2s; "
                        + "sees a Kubernetes ConfigMap update)")
        boolean watchConfig;

        @Option(names = "--fallback-to-last-good",
                description = "if the config file is invalid, start from the last known good version instead")
        boolean fallbackToLastGood;

        @Override
        public Integer call() throws Exception {
            Optional<ConfigStore> opened = openStore(stateDir, config);
            if (opened.isEmpty()) {
                return 1;
            }
            ConfigStore store = opened.get();
            String text;
            CheckedConfig checked;
            String source = "file " + config + " (start)";
            Optional<Integer> restoredFrom = Optional.empty();
            try {
                text = ConfigLoader.read(config);
                checked = ConfigLoader.parseWithWarnings(text, config.toString());
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                Optional<ConfigVersion> good = store.lastKnownGood();
                if (good.isEmpty()) {
                    System.err.println("sluice: " + config + " is not valid; not started"
                            + (store.versions().isEmpty() ? "" : " (no stored version has been marked good yet)"));
                    store.close();
                    return 1;
                }
                ConfigVersion g = good.get();
                String where = store.textLocation(g.number());
                if (!fallbackToLastGood) {
                    System.err.println("sluice: " + config + " is not valid; not started.\n"
                            + "sluice: the last known good config is version " + g.number() + " (applied " + g.appliedAt()
                            + " from " + g.source() + ", sha256 " + g.shortHash() + "), kept in " + where + ".\n"
                            + "sluice: to start from it, run again with --fallback-to-last-good");
                    store.close();
                    return 1;
                }
                Optional<String> goodText = store.text(g.number());
                try {
                    text = goodText.orElseThrow(() -> new IOException("the text of version " + g.number() + " is gone"));
                    checked = ConfigLoader.parseWithWarnings(text, where);
                } catch (IOException | ConfigException unusable) {
                    System.err.println(unusable.getMessage());
                    System.err.println("sluice: the last known good version " + g.number() + " cannot be used either; not started");
                    store.close();
                    return 1;
                }
                source = "start from the last known good version " + g.number() + " (" + config + " is invalid)";
                restoredFrom = Optional.of(g.number());
                System.err.println("sluice: STARTING FROM THE LAST KNOWN GOOD CONFIG, version " + g.number() + " ("
                        + where + "), because " + config + " is invalid (errors above). Fix the file, then reload "
                        + "(SIGHUP or POST /reload).");
            }
            printWarnings(checked.warnings());
            return serve(checked.config(), new Instance.Startup(text, source, Optional.of(config), store, bakePeriod,
                    restoredFrom, autoRollback), List.of(), instance -> {
                        if (watchConfig) {
                            instance.watchConfigFile(ConfigFileWatch.INTERVAL);
                        }
                    });
        }
    }

    /**
     * The state directory, locked. An explicit {@code --state-dir} must work; the default one may
     * be unwritable (a read-only config mount), and then history is kept in memory, with a warning.
     */
    static Optional<ConfigStore> openStore(Path explicit, Path configFile) {
        Path dir = explicit != null ? explicit : defaultStateDir(configFile);
        if (explicit == null) {
            warnAboutSharedStateDir(configFile, dir);
        }
        try {
            return Optional.of(ConfigStore.open(dir));
        } catch (ConfigStore.InUseException e) {
            System.err.println("sluice: " + e.getMessage());
            return Optional.empty();
        } catch (IOException e) {
            if (explicit != null) {
                System.err.println("sluice: cannot use --state-dir " + dir + ": " + e.getMessage());
                return Optional.empty();
            }
            System.err.println("sluice: warning: cannot use the state directory " + dir + " (" + e.getMessage()
                    + "); config versions are kept in memory only and lost at exit. Pass --state-dir DIR to keep them.");
            return Optional.of(ConfigStore.inMemory());
        }
    }

    /**
     * The shared default of earlier releases is not read (its versions may be another file's), but
     * its history is not silently lost either: the message says how to keep it for this file.
     */
    private static void warnAboutSharedStateDir(Path configFile, Path dir) {
        Path shared = folderOf(configFile).resolve(SHARED_STATE_DIR_NAME);
        if (Files.isRegularFile(shared.resolve("versions.json")) && !Files.exists(dir)) {
            System.err.println("sluice: note: " + shared + " (the state directory shared by every config file in "
                    + "this folder before) is no longer used; this file's history starts in " + dir + ". If "
                    + shared + " holds only this file's history, stop sluice and `mv " + shared + " " + dir
                    + "` to keep it, or pass --state-dir " + shared + ".");
        }
    }

    private static void printWarnings(List<ConfigWarning> warnings) {
        warnings.forEach(w -> System.err.println(w));
    }

    @Command(name = "check", mixinStandardHelpOptions = true, version = VERSION, description = "Validate a config file: exit 0 if valid (warnings are printed), "
            + "1 with FILE:LINE:COL errors if not.")
    static final class Check implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = {"-c", "--config"}, required = true, description = "YAML config file")
        Path config;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                CheckedConfig checked = ConfigLoader.loadWithWarnings(config);
                checked.warnings().forEach(err::println);
                SluiceConfig loaded = checked.config();
                // Clusters from Kubernetes: their Services, and the pods two of them share, on the live cluster.
                var live = dev.sluice.kubernetes.KubernetesCheck.run(loaded.clusters());
                live.warnings().forEach(err::println);
                if (!live.errors().isEmpty()) {
                    live.errors().forEach(err::println);
                    err.println(config + ": " + live.errors().size() + " error(s)");
                    return 1;
                }
                int w = checked.warnings().size() + live.warnings().size();
                out.println(config + ": ok (" + loaded.listeners().size() + " listeners, "
                        + loaded.routes().size() + " routes, " + loaded.clusters().size() + " clusters)"
                        + (w == 0 ? "" : "; " + w + " warning" + (w == 1 ? "" : "s")));
                return 0;
            } catch (ConfigException e) {
                err.println(e.getMessage());
                err.println(config + ": " + e.problems().size() + " error(s)");
                return 1;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true, version = VERSION,
            description = "Run two built-in demo backends behind Sluice on 127.0.0.1 (gateway on --port, admin API on "
                    + "--admin-port). Ctrl-C or SIGTERM stops it.")
    static final class Demo implements Callable<Integer> {
        @Option(names = "--port", paramLabel = "PORT", description = "the gateway's port (default: ${DEFAULT-VALUE})")
        int port = 8080;

        @Option(names = "--admin-port", paramLabel = "PORT", description = "the admin API's port (default: ${DEFAULT-VALUE})")
        int adminPort = 9901;

        /** The demo's config (the jar's {@code demo.yaml}) with its ports and its backends' addresses filled in. */
        static String configText(int port, int adminPort, List<String> backends) throws IOException {
            try (InputStream in = Sluice.class.getResourceAsStream("demo.yaml")) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8)
                        .replace("{port}", Integer.toString(port))
                        .replace("{admin_port}", Integer.toString(adminPort))
                        .replace("{backend_1}", backends.get(0))
                        .replace("{backend_2}", backends.get(1));
            }
        }

        @Override
        public Integer call() throws Exception {
            // The backends take whatever ports are free: only the two ports a user types are fixed.
            List<AutoCloseable> backends = new ArrayList<>();
            List<String> backendAddresses = new ArrayList<>();
            for (int n = 1; n <= 2; n++) {
                DemoBackend backend = DemoBackend.start("demo-backend-" + n, new InetSocketAddress("127.0.0.1", 0));
                backends.add(backend);
                backendAddresses.add("127.0.0.1:" + backend.address().getPort());
            }
            String text = configText(port, adminPort, backendAddresses);
            SluiceConfig config;
            try {
                config = ConfigLoader.parse(text, "<demo>");
            } catch (ConfigException e) {
                // A port out of range, say: the options' fault, told as such.
                System.err.println("sluice demo: " + e.getMessage());
                closeAll(backends);
                return CommandLine.ExitCode.USAGE;
            }
            String banner = """
                    Sluice demo: two demo backends (%s, %s) behind 127.0.0.1:%d.
                    Try:
                      curl -i http://127.0.0.1:%d/hello          # least-request over the two backends: see X-Demo-Backend
                      curl -i http://127.0.0.1:%d/api/users -d 'x=1'
                      curl -s http://127.0.0.1:%d/status          # admin API: listeners, routes, clusters
                    The access log (JSON, one line per request) is printed below. Ctrl-C or SIGTERM stops.""".formatted(
                    backendAddresses.get(0), backendAddresses.get(1), port, port, port, adminPort);
            // The banner only once the ports are bound: a busy port is the last thing printed, not lost above it.
            return serve(config, Instance.Startup.inMemory(text, "<demo>"), backends, instance -> System.err.println(banner));
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true, version = VERSION, description = "Restore a stored config version in the running sluice, through its "
            + "admin API: version N, or by default the last known good.")
    static final class Rollback implements Callable<Integer> {
        @Option(names = "--to", paramLabel = "N", description = "the version to restore (see `sluice versions`)")
        Integer to;

        @CommandLine.Mixin
        RunningInstance running;

        @Override
        public Integer call() throws Exception {
            Optional<AdminClient.Answer> reply = running.call(c -> c.post("/rollback" + (to == null ? "" : "?to=" + to)));
            if (reply.isEmpty()) {
                return 2;
            }
            AdminClient.Answer answer = reply.get();
            JsonNode json = new ObjectMapper().readTree(answer.body());
            if (answer.status() == 200) {
                System.out.println(json.path("unchanged").asBoolean()
                        ? "already running that config (version " + json.path("version").asInt() + ")"
                        : "rolled back: now serving version " + json.path("version").asInt() + ", restored from version "
                                + json.path("restored_from").asInt() + " (" + json.path("source").asText() + ")");
                return 0;
            }
            System.err.println("sluice: rollback refused (" + answer.status() + "): " + json.path("reason").asText());
            json.path("errors").forEach(e -> System.err.println(e.path("text").asText()));
            return 1;
        }
    }

    @Command(name = "versions", mixinStandardHelpOptions = true, version = VERSION, description = "List the config versions of the running sluice, through its admin API.")
    static final class Versions implements Callable<Integer> {
        @CommandLine.Mixin
        RunningInstance running;

        @Override
        public Integer call() throws Exception {
            Optional<AdminClient.Answer> reply = running.call(c -> c.get("/config/versions"));
            if (reply.isEmpty()) {
                return 2;
            }
            AdminClient.Answer answer = reply.get();
            JsonNode json = new ObjectMapper().readTree(answer.body());
            int current = json.path("current").asInt();
            int good = json.path("last_known_good").asInt(0);
            System.out.printf("%-8s %-24s %-12s %-13s %s%n", "VERSION", "APPLIED", "OUTCOME", "SHA256", "SOURCE");
            for (JsonNode v : json.path("versions")) {
                int n = v.path("version").asInt();
                String mark = (n == current ? " *" : "") + (n == good ? " (last known good)" : "");
                System.out.printf("%-8s %-24s %-12s %-13s %s%s%n", n,
                        java.time.Instant.parse(v.path("applied_at").asText()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        v.path("outcome").asText(), v.path("sha256").asText().substring(0, 12), v.path("source").asText(), mark);
            }
            if (json.path("config_file_differs").asBoolean()) {
                System.out.println("note: the config file differs from the running config");
            }
            return 0;
        }
    }

    @Command(name = "apps", mixinStandardHelpOptions = true, version = VERSION, description = "List the apps the "
            + "running sluice supervises (clusters[].app) and their state, through its admin API.")
    static final class AppList implements Callable<Integer> {
        @CommandLine.Mixin
        RunningInstance running;

        @Override
        public Integer call() throws Exception {
            Optional<AdminClient.Answer> reply = running.call(c -> c.get("/apps"));
            if (reply.isEmpty()) {
                return 2;
            }
            JsonNode json = new ObjectMapper().readTree(reply.get().body());
            System.out.printf("%-16s %-11s %-22s %-8s %-7s %-9s %s%n", "APP", "STATE", "ADDRESS", "PID", "STARTS", "EXIT", "LAST ERROR");
            for (JsonNode app : json.path("apps")) {
                System.out.printf("%-16s %-11s %-22s %-8s %-7s %-9s %s%n", app.path("name").asText(),
                        app.path("state").asText(), app.path("address").asText(),
                        app.path("pid").isNull() ? "-" : app.path("pid").asText(), app.path("starts").asInt(),
                        app.path("exit_code").isNull() ? "-" : app.path("exit_code").asText(),
                        app.path("last_error").isNull() ? "" : app.path("last_error").asText());
            }
            return 0;
        }
    }

    /** The options that find a running sluice's admin API, shared by {@code rollback}, {@code versions} and {@code apps}. */
    static final class RunningInstance {
        @Option(names = "--admin", paramLabel = "HOST:PORT", description = "the running sluice's admin address")
        String admin;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "the running sluice's state directory, "
                + "where it records its admin address")
        Path stateDir;

        @Option(names = {"-c", "--config"}, description = "the running sluice's config file (finds its state directory, "
                + "and its admin.token or admin.token_file)")
        Path config;

        @Option(names = "--token-file", paramLabel = "FILE", description = "a file holding the admin API's token "
                + "(default: the admin.token or admin.token_file of -c FILE)")
        Path tokenFile;

        interface AdminCall {
            AdminClient.Answer on(AdminClient client) throws IOException, InterruptedException;
        }

        /** Calls the running sluice's admin API; when it cannot be found or reached, says why and returns empty. */
        Optional<AdminClient.Answer> call(AdminCall call) throws IOException, InterruptedException {
            AdminClient client;
            switch (AdminClient.locate(admin, stateDir, config)) {
                case AdminClient.Located.Found found -> client = found.client();
                case AdminClient.Located.NotFound notFound -> {
                    System.err.println("sluice: cannot find the running sluice's admin API (" + notFound.why()
                            + "); pass -c FILE or --state-dir DIR of the running instance, or --admin HOST:PORT");
                    return Optional.empty();
                }
            }
            try {
                client = client.withToken(AdminClient.token(tokenFile, config));
            } catch (IOException e) {
                System.err.println("sluice: cannot read the admin token: " + e.getMessage());
                return Optional.empty();
            }
            AdminClient.Answer answer;
            try {
                answer = call.on(client);
            } catch (ConnectException e) {
                System.err.println("sluice: nothing answers at " + client.address() + " (is sluice running?)");
                return Optional.empty();
            }
            if (answer.status() == 401) {
                System.err.println("sluice: the admin API at " + client.address() + " wants its token: pass -c FILE "
                        + "(the config whose admin.token_file holds it) or --token-file FILE");
                return Optional.empty();
            }
            return Optional.of(answer);
        }
    }

    /**
     * Runs until a drain (SIGTERM, SIGINT, POST /drain) ends; SIGHUP reloads the config file, SIGUSR1
     * reopens the access log file. Returns the exit code.
     */
    static int serve(SluiceConfig config, Instance.Startup startup, List<AutoCloseable> extras) throws Exception {
        return serve(config, startup, extras, instance -> { });
    }

    /** As {@link #serve(SluiceConfig, Instance.Startup, List)}, calling {@code started} once every port is bound. */
    static int serve(SluiceConfig config, Instance.Startup startup, List<AutoCloseable> extras,
                     Consumer<Instance> started) throws Exception {
        Instance instance;
        try {
            instance = Instance.start(config, startup);
        } catch (IllegalStateException | IOException e) {
            System.err.println("sluice: " + e.getMessage());
            startup.store().close();
            closeAll(extras);
            return 1;
        }
        started.accept(instance);
        Signals.onTerminate(signal -> {
            if (!instance.drain(signal)) {
                instance.hurryDrain();
            }
        });
        if (!Signals.onHangup(() -> Thread.ofPlatform().name("sluice-reload").start(instance::reload))) {
            LOG.warn("SIGHUP is ignored by this process (started with nohup?), so it cannot reload the config; "
                    + "use POST /reload on the admin API instead");
        }
        Signals.onUser1(instance::reopenAccessLog);
        instance.stopped().join();
        closeAll(extras);
        markTrained(instance.gateway().metrics().requests());
        LOG.info("stopped");
        return 0;
    }

    /**
     * {@code bin/sluice} records a start-up archive (an AOT cache, or a class-data-sharing archive
     * before JDK 25) from a process's run, and keeps it only if the run was worth learning from:
     * this process served traffic and is exiting cleanly. It says so by creating the file named
     * by {@code sluice.aot.trained}. A {@code --help}, a refused config or a bind that failed
     * records a start-up that serves nothing, and every later start would map it (measured
     * ~2× slower to first request until deleted).
     */
    private static void markTrained(long requestsServed) {
        String marker = System.getProperty("sluice.aot.trained");
        if (marker == null || requestsServed == 0) {
            return;
        }
        try {
            Files.writeString(Path.of(marker), requestsServed + " requests served\n");
        } catch (IOException e) {
            // Only start-up speed is lost: the next start records again.
            LOG.debug("cannot write {}: {}", marker, e.toString());
        }
    }

    private static void closeAll(List<AutoCloseable> extras) {
        for (AutoCloseable c : extras) {
            try {
                c.close();
            } catch (Exception ignored) {
                // Shutting down: nothing useful to do about a demo backend that fails to close.
            }
        }
    }
}
