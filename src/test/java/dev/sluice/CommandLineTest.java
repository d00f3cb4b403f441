package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.testing.Ports;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

/**
 * The {@code sluice} command as a user types it, each call a child JVM: help on every
 * subcommand, usage for no command at all, and the demo on ports of the user's choosing.
 */
class CommandLineTest {
    private static final Duration T = Duration.ofSeconds(30);

    /** What a finished {@code sluice ...} printed and returned. */
    record Ran(int exit, String out, String err) {}

    private static Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-Dlogback.configurationFile=logback.xml",
                "-cp", System.getProperty("java.class.path"), Sluice.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).start();
    }

    private static Ran sluice(String... args) throws Exception {
        Process p = start(args);
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> Ports.printed(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> Ports.printed(p.getErrorStream()));
        assertThat(p.waitFor(T.toSeconds(), TimeUnit.SECONDS)).as("sluice " + String.join(" ", args) + " ended").isTrue();
        return new Ran(p.exitValue(), out.get(), err.get());
    }

    /** Every subcommand the command line has, nested ones as "parent child": none is left out of the help test. */
    static java.util.stream.Stream<String> subcommands() {
        List<String> names = new java.util.ArrayList<>();
        collect(new picocli.CommandLine(new Sluice()), "", names);
        return names.stream();
    }

    private static void collect(picocli.CommandLine command, String prefix, List<String> names) {
        command.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help") && sub.getCommandName().equals(name)) {
                names.add(prefix + name);
                collect(sub, prefix + name + " ", names);
            }
        });
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("subcommands")
    void everySubcommandAnswersHelpWithItsOptionsAndExitsZero(String subcommand) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of(subcommand.split(" ")));
        args.add("--help");
        Ran ran = sluice(args.toArray(String[]::new));

        assertThat(ran.exit()).as(ran.err()).isZero();
        assertThat(ran.out()).startsWith("Usage: sluice " + subcommand).contains("-h, --help");
        assertThat(ran.err()).as("nothing is started to print help").isEmpty();
    }

    @Test
    void noCommandAtAllPrintsUsageOnStderrAndExitsTwo() throws Exception {
        Ran ran = sluice();

        assertThat(ran.exit()).isEqualTo(2);
        assertThat(ran.out()).isEmpty();
        assertThat(ran.err()).startsWith("Usage: sluice").contains("run", "check", "demo", "rollback", "versions");
    }

    @Test
    void theDemosConfigLoadsWithThePortsFilledIn() throws Exception {
        SluiceConfig demo = ConfigLoader.parse(Sluice.Demo.configText(18080, 19901,
                List.of("127.0.0.1:19001", "127.0.0.1:19002")), "<demo>");

        assertThat(demo.listeners().get(0).address().port()).isEqualTo(18080);
        assertThat(demo.clusters().get(0).endpoints()).hasSize(2);
    }

    @Test
    void theDemoServesOnThePortsGivenAndStopsCleanly() throws Exception {
        int port = Ports.freeLoopbackPort();
        int adminPort = Ports.freeLoopbackPort();
        Process demo = start("demo", "--port", Integer.toString(port), "--admin-port", Integer.toString(adminPort));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> Ports.printed(demo.getErrorStream()));
        CompletableFuture.runAsync(() -> Ports.printed(demo.getInputStream()));
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            HttpResponse<String> hello = await(http, "http://127.0.0.1:" + port + "/hello");
            HttpResponse<String> status = await(http, "http://127.0.0.1:" + adminPort + "/status");

            assertThat(hello.statusCode()).isEqualTo(200);
            assertThat(hello.headers().firstValue("x-demo-backend")).hasValueSatisfying(
                    b -> assertThat(b).startsWith("demo-backend-"));
            assertThat(status.statusCode()).isEqualTo(200);
        } finally {
            demo.destroy();
        }
        assertThat(demo.waitFor(T.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(demo.exitValue()).as("SIGTERM drains, then exits 0").isZero();
        assertThat(err.get()).contains("behind 127.0.0.1:" + port, "http://127.0.0.1:" + adminPort + "/status");
    }

    @Test
    void aBusyPortIsTheLastThingTheDemoSaysAndNoBannerPromisesIt() throws Exception {
        try (ServerSocket busy = new ServerSocket()) {
            busy.bind(new InetSocketAddress("127.0.0.1", 0));
            Ran ran = sluice("demo", "--port", Integer.toString(busy.getLocalPort()), "--admin-port",
                    Integer.toString(Ports.freeLoopbackPort()));

            assertThat(ran.exit()).isEqualTo(1);
            assertThat(ran.err()).contains("cannot listen on 127.0.0.1:" + busy.getLocalPort() + ": address already in use")
                    .doesNotContain("Try:");
        }
    }

    private static HttpResponse<String> await(HttpClient http, String url) throws Exception {
        long deadline = System.nanoTime() + T.toNanos();
        while (true) {
            try {
                return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                Thread.sleep(50);
            }
        }
    }

}
