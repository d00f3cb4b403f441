package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code incidents:} with its documented defaults, and {@code alerts:}, which must be signed. */
class IncidentsConfigTest {
    private static final String BASE = ConfigTesting.MINIMAL;

    @Test
    void incidentsAreOnWithTheirDefaultsAndEveryThresholdCanBeSet() throws ConfigException {
        SluiceConfig plain = ConfigLoader.parse(BASE, "x.yaml");
        assertThat(plain.incidents()).isEqualTo(IncidentsConfig.DEFAULT);
        assertThat(plain.alerts()).isEmpty();
        IncidentsConfig set = ConfigLoader.parse(BASE + """
                incidents: { window: 30s, error_ratio: 0.2, over_baseline: 2, latency_p99: 500ms, min_requests: 5,
                             close_after: 2m, enabled: false }
                """, "x.yaml").incidents();
        assertThat(set).isEqualTo(new IncidentsConfig(false, Duration.ofSeconds(30), 0.2, 2, Duration.ofMillis(500), 5,
                Duration.ofMinutes(2)));
    }

    @Test
    void aRatioOutOfRangeOrAMisspeltKeyIsRefusedAtItsLine() {
        assertThat(problems(BASE + "incidents: { error_ratio: 5 }\n")).singleElement().asString()
                .startsWith("9:27: incidents.error_ratio: 5 is out of range; it must be above 0 and at most 1");
        assertThat(problems(BASE + "incidents: { close_afterr: 1s }\n")).singleElement().asString()
                .startsWith("9:14: unknown key 'close_afterr' in incidents (did you mean 'close_after'?)");
        assertThat(problems(BASE + "incidents: { window: 2h }\n")).singleElement().asString()
                .startsWith("9:22: incidents.window: 2h is out of range");
    }

    @Test
    void alertsNeedAnHttpUrlAndASecretOfTheirOwn() throws Exception {
        AlertsConfig alerts = ConfigLoader.parse(BASE
                + "alerts: { webhook: \"https://hooks.example/sluice\", secret: 0123456789abcdef }\n", "x.yaml")
                .alerts().orElseThrow();
        assertThat(alerts.webhook().toString()).isEqualTo("https://hooks.example/sluice");
        assertThat(alerts.toString()).doesNotContain("0123456789abcdef");
        assertThat(problems(BASE + "alerts: { webhook: \"https://hooks.example/sluice\" }\n")).singleElement().asString()
                .startsWith("9:9: alerts: give 'secret' or 'secret_file'");
        assertThat(problems(BASE + "alerts: { webhook: \"ftp://hooks.example\", secret: 0123456789abcdef }\n"))
                .singleElement().asString().startsWith("9:20: alerts.webhook: 'ftp://hooks.example' must start with http://");
        assertThat(problems(BASE + "alerts: { webhook: \"http://h/\", secret: short }\n")).singleElement().asString()
                .startsWith("9:41: alerts.secret: a secret needs at least 16 characters");
    }

    @Test
    void aSecretFileIsReadWhenTheConfigLoads(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path secret = java.nio.file.Files.writeString(dir.resolve("secret"), "fedcba9876543210fedcba\n");
        assertThat(ConfigLoader.parse(BASE + "alerts: { webhook: \"http://h/\", secret_file: " + secret + " }\n", "x.yaml")
                .alerts().orElseThrow().secret()).isEqualTo("fedcba9876543210fedcba");
        assertThat(problems(BASE + "alerts: { webhook: \"http://h/\", secret_file: " + dir.resolve("none") + " }\n"))
                .singleElement().asString().contains("alerts.secret_file: cannot read").contains("file not found");
    }
}
