package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code deploy/systemd/sluice.service} against what Sluice does: reload is SIGHUP, stop is
 * SIGTERM, and systemd waits for the whole drain of the config shipped beside it before SIGKILL.
 */
class DeploySystemdUnitTest {
    private static final Path UNIT = Path.of("deploy/systemd/sluice.service");
    private static final Path SHIPPED_CONFIG = Path.of("deploy/systemd/sluice.yaml");

    @Test
    void stopSendsSigtermAndWaitsForTheWholeDrainOfTheShippedConfig() throws Exception {
        Map<String, String> service = section("Service");
        SluiceConfig config = ConfigLoader.load(SHIPPED_CONFIG);

        assertThat(service.get("KillSignal")).isEqualTo("SIGTERM");
        assertThat(timeSpan(service.get("TimeoutStopSec"))).as("TimeoutStopSec against drain.delay + drain.timeout")
                .isGreaterThanOrEqualTo(config.drain().total());
        assertThat(service.get("KillMode")).as("SIGTERM to Sluice alone, which stops its apps").isEqualTo("mixed");
    }

    @Test
    void reloadSendsSighupToTheJvm() throws IOException {
        Map<String, String> service = section("Service");

        assertThat(service.get("ExecReload")).isEqualTo("/bin/kill -HUP $MAINPID");
        // bin/sluice execs the JVM, so $MAINPID is Sluice's own process.
        assertThat(Files.readString(Path.of("bin/sluice"))).contains("exec \"$JAVA_HOME/bin/java\"");
        assertThat(service.get("MemoryDenyWriteExecute")).as("the JIT writes the code it runs").isNull();
    }

    @Test
    void theCommandIsASluiceRunOfTheConfigWithItsStateInTheStateDirectory() throws Exception {
        Map<String, String> service = section("Service");
        List<String> command = Arrays.asList(service.get("ExecStart").split(" +"));

        assertThat(command.get(0)).endsWith("/bin/sluice");
        CommandLine.ParseResult parsed = new CommandLine(new Sluice()).parseArgs(
                command.subList(1, command.size()).toArray(String[]::new));
        Sluice.Run run = (Sluice.Run) parsed.subcommand().commandSpec().userObject();
        assertThat(run.config).isEqualTo(Path.of("/etc/sluice").resolve(SHIPPED_CONFIG.getFileName()));
        // ProtectSystem=strict: the config's folder is read-only, StateDirectory= is writable.
        assertThat(service.get("ProtectSystem")).isEqualTo("strict");
        assertThat(run.stateDir).isEqualTo(Path.of("/var/lib").resolve(service.get("StateDirectory")));
        assertThat(Path.of(ConfigLoader.load(SHIPPED_CONFIG).accessLog().path().orElseThrow()).getParent())
                .isEqualTo(Path.of("/var/log").resolve(service.get("LogsDirectory")));
    }

    /** The {@code key=value} lines of {@code [name]} (the last one wins, as systemd reads them). */
    private static Map<String, String> section(String name) throws IOException {
        Map<String, String> keys = new LinkedHashMap<>();
        String current = "";
        for (String line : Files.readAllLines(UNIT)) {
            String l = line.strip();
            if (l.startsWith("[") && l.endsWith("]")) {
                current = l.substring(1, l.length() - 1);
            } else if (current.equals(name) && !l.isEmpty() && !l.startsWith("#")) {
                int eq = l.indexOf('=');
                keys.put(l.substring(0, eq), l.substring(eq + 1));
            }
        }
        return keys;
    }

    /** A systemd time span as these units write it: {@code 45}, {@code 45s}, {@code 1min 30s}. */
    private static Duration timeSpan(String text) {
        Duration total = Duration.ZERO;
        Matcher m = Pattern.compile("(\\d+)\\s*(min|s)?").matcher(text);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total = total.plus("min".equals(m.group(2)) ? Duration.ofMinutes(n) : Duration.ofSeconds(n));
        }
        return total;
    }
}
