package dev.sluice;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.SluiceConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code sluice} command line: {@code run}, {@code check}, {@code demo}. */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "sluice 0.1.0",
        description = "An HTTP reverse proxy that makes the safe behaviour the default.",
        subcommands = {Sluice.Run.class, Sluice.Check.class, Sluice.Demo.class})
public final class Sluice implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Sluice.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Sluice()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "run", description = "Run the gateway from a config file.")
    static final class Run implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "YAML config file")
        Path config;

        @Override
        public Integer call() throws Exception {
            SluiceConfig loaded;
            try {
                loaded = ConfigLoader.load(config);
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                System.err.println("sluice: " + config + " is not valid; not started");
                return 1;
            }
            return serve(loaded, Optional.of(config), List.of());
        }
    }

    @Command(name = "check", description = "Validate a config file: exit 0 if valid, 1 with FILE:LINE:COL errors if not.")
    static final class Check implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "YAML config file")
        Path config;

        @Override
        public Integer call() {
            try {
                SluiceConfig loaded = ConfigLoader.load(config);
                System.out.println(config + ": ok (" + loaded.listeners().size() + " listeners, "
                        + loaded.routes().size() + " routes, " + loaded.clusters().size() + " clusters)");
                return 0;
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                System.err.println(config + ": " + e.problems().size() + " error(s)");
                return 1;
            }
        }
    }

    @Command(name = "demo", description = "Run two built-in demo backends behind Sluice on 127.0.0.1:8080 (admin on 9901).")
    static final class Demo implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            SluiceConfig config;
            try (InputStream in = Sluice.class.getResourceAsStream("demo.yaml")) {
                config = ConfigLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "<demo>");
            }
            List<AutoCloseable> backends = new ArrayList<>();
            int n = 1;
            for (EndpointConfig endpoint : config.clusters().get(0).endpoints()) {
                backends.add(DemoBackend.start("demo-backend-" + n++, endpoint.address().toSocketAddress()));
            }
            PrintWriter err = new PrintWriter(System.err, true);
            err.println("""
                    Sluice demo: two demo backends (127.0.0.1:9001, 127.0.0.1:9002) behind 127.0.0.1:8080.
                    Try:
                      curl -i http://127.0.0.1:8080/hello          # alternates between the two backends
                      curl -i http://127.0.0.1:8080/api/users -d 'x=1'
                      curl -s http://127.0.0.1:9901/status          # admin API: listeners, routes, clusters
                    The access log (JSON, one line per request) is printed below. Ctrl-C or SIGTERM stops.""");
            return serve(config, Optional.empty(), backends);
        }
    }

    /** Runs until SIGTERM/SIGINT; SIGHUP reloads the config file. Returns the exit code. */
    static int serve(SluiceConfig config, Optional<Path> file, List<AutoCloseable> extras) throws Exception {
        Instance instance;
        try {
            instance = Instance.start(config, file);
        } catch (IllegalStateException e) {
            System.err.println("sluice: " + e.getMessage());
            closeAll(extras);
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onTerminate(stop::countDown);
        Signals.onHangup(() -> Thread.ofPlatform().name("sluice-reload").start(instance::reload));
        stop.await();
        LOG.info("stopping");
        instance.close();
        closeAll(extras);
        LOG.info("stopped");
        return 0;
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
