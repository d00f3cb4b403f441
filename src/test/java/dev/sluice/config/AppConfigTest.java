package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clusters[].app}: its defaults, and each mistake refused at its line and column before anything runs. */
class AppConfigTest {

    private static String config(String app) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                admin: { address: 127.0.0.1:9901 }
                routes:
                  - match: { path_prefix: / }
                    cluster: blog
                clusters:
                  - name: blog
                    app:
                """ + app.indent(6);
    }

    @Test
    void anAppWithOnlyACommandGetsEveryDefaultAndNoEndpointsUntilItsPortIsChosen() throws Exception {
        SluiceConfig config = ConfigLoader.parse(config("command: [sh, -c, 'exec sleep 1000']"), "test.yaml");
        ClusterConfig blog = config.clusters().get(0);
        assertThat(blog.endpoints()).isEmpty();
        assertThat(blog.app()).contains(AppConfig.of(List.of("sh", "-c", "exec sleep 1000")));
        AppConfig app = blog.app().orElseThrow();
        assertThat(app.port()).isEqualTo(AppConfig.AUTO_PORT);
        assertThat(app.start()).isEqualTo(AppConfig.StartMode.ON_DEMAND);
        assertThat(app.idleStop()).isEmpty();
        assertThat(app.holdMax()).isEqualTo(1000);
        assertThat(app.backoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(app.backoffMax()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void everyKeyIsBound() throws Exception {
        SluiceConfig config = ConfigLoader.parse(config("""
                command: [sh, -c, "exec sleep 1000", "{port}"]
                workdir: /tmp
                env: { PYTHONUNBUFFERED: "1" }
                port: 18123
                start: always
                ready: { path: /healthz, timeout: 5s }
                idle_stop: 15m
                hold: { max: 10, timeout: 2s }
                stop_grace: 3s
                logs: /tmp/blog.log
                backoff: { first: 100ms, max: 2s }
                """), "test.yaml");
        AppConfig app = config.clusters().get(0).app().orElseThrow();
        assertThat(app).isEqualTo(new AppConfig(List.of("sh", "-c", "exec sleep 1000", "{port}"), Optional.empty(),
                Optional.of(java.nio.file.Path.of("/tmp")), Map.of("PYTHONUNBUFFERED", "1"), 18123,
                AppConfig.StartMode.ALWAYS, "/healthz", Duration.ofSeconds(5), Optional.of(Duration.ofMinutes(15)), 10,
                Duration.ofSeconds(2), Duration.ofSeconds(3), Optional.of(java.nio.file.Path.of("/tmp/blog.log")),
                Duration.ofMillis(100), Duration.ofSeconds(2)));
    }

    @Test
    void aCommandThatIsNotExecutableIsRefusedAtItsProgram(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("serve.sh"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(problems(config("command: [" + script + ", --bind, \"127.0.0.1:{port}\"]"))).containsExactly(
                "10:17: clusters[0].app.command[0]: '" + script + "' is not executable (chmod +x it, or run it through "
                        + "its interpreter)");
        assertThat(problems(config("command: [no-such-server-anywhere]")).get(0))
                .startsWith("10:17: clusters[0].app.command[0]: 'no-such-server-anywhere' is not an executable found on PATH");
        assertThat(problems(config("command: [/no/such/file]"))).containsExactly(
                "10:17: clusters[0].app.command[0]: '/no/such/file' does not exist");
    }

    @Test
    void aFixedPortThatClashesWithAListenerTheAdminApiOrAnotherAppIsRefused() {
        assertThat(problems(config("{ command: [sh], port: 8080 }"))).containsExactly(
                "10:30: clusters[0].app.port: port 8080 clashes with the listener defined at 2:14: the app could not bind it");
        assertThat(problems(config("{ command: [sh], port: 9901 }"))).containsExactly(
                "10:30: clusters[0].app.port: port 9901 clashes with the admin API's address '127.0.0.1:9901': the app "
                        + "could not bind it");
        assertThat(problems(config("{ command: [sh], port: 9000 }") + """
                  - name: other
                    app: { command: [sh], port: 9000 }
                """)).containsExactly("12:33: clusters[1].app.port: port 9000 is already the port of the app at 10:30");
    }

    @Test
    void commandAndStartUrlTogetherOrNeitherAreRefused() {
        assertThat(problems(config("{ command: [sh], start_url: \"http://10.0.0.1/scale\" }"))).containsExactly(
                "10:35: clusters[0].app.start_url: give either 'command' (Sluice runs the app) or 'start_url' "
                        + "(something else runs it and Sluice asks it to start), not both");
        assertThat(problems(config("{ workdir: /tmp }"))).containsExactly(
                "10:7: missing required key 'command' in clusters[0].app (the app's argv, e.g. [gunicorn, --bind, "
                        + "\"127.0.0.1:{port}\", app:app]; or 'start_url')");
    }

    @Test
    void anAppSluiceRunsIsTheClustersOnlyEndpoint() {
        assertThat(problems(config("{ command: [sh] }") + "    endpoints: [127.0.0.1:9001]\n")).containsExactly(
                "11:16: clusters[0].endpoints: a cluster whose app Sluice runs ('app.command') has that app as its one "
                        + "endpoint; remove it, or use 'app.start_url' for an app run elsewhere");
    }

    @Test
    void badValuesAreEachNamed() {
        assertThat(problems(config("""
                command: [sh]
                workdir: /no/such/dir
                env: { PORT: "1", 9LIVES: x }
                start: lazy
                ready: { path: healthz }
                idle_stop: soon
                logs: relative.log
                backoff: { first: 10s, max: 1s }
                """))).containsExactly(
                "11:16: clusters[0].app.workdir: '/no/such/dir' is not a directory",
                "12:14: clusters[0].app.env.PORT: Sluice sets PORT to the app's port; use 'port' to fix it",
                "12:25: clusters[0].app.env.9LIVES: '9LIVES' is not an environment variable name (letters, digits and "
                        + "'_', not starting with a digit)",
                "13:14: clusters[0].app.start: expected on_demand or always, got 'lazy'",
                "14:22: clusters[0].app.ready.path: expected a path like /healthz (starting with '/', no spaces), got the "
                        + "string 'healthz'",
                "15:18: clusters[0].app.idle_stop: invalid duration 'soon': use e.g. 250ms, 2s, 5m, or 'off'",
                "16:13: clusters[0].app.logs: 'relative.log' must be an absolute path",
                "17:35: clusters[0].app.backoff.max: 1s is below 'first' (10s); the wait only grows");
    }
}
