package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import dev.sluice.testing.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incidents and their alerts end to end, on real sockets: an endpoint killed under load opens one
 * incident naming {@code connect_refused} and that endpoint within 5 s, the webhook gets one signed
 * "open", and once the endpoint is back one signed "close"; an automatic rollback is one incident
 * with one alert.
 */
class IncidentsTest {
    private static final String SECRET = "0123456789abcdef0123456789abcdef";
    private static final Duration AWAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static String config(String endpoints, String hook, String extra) {
        return ControlConfigs.oneCluster(endpoints, """
                incidents: { close_after: 1s }
                alerts: { webhook: "%s", secret: %s }
                %s""".formatted(hook, SECRET, extra));
    }

    @Test
    void anEndpointKilledUnderLoadOpensOneIncidentNamingItAndClosesItOnceItIsBack() throws Exception {
        try (WebhookReceiver hook = new WebhookReceiver(SECRET);
             CountingBackend steady = new CountingBackend("steady");
             KillableEndpoint victim = new KillableEndpoint(Ports.freeLoopbackPort());
             InProcessSluice sluice = InProcessSluice.start(config(steady.address() + ", " + victim.address(),
                     hook.url(), ""), dir, Duration.ofMinutes(10))) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/x");
            Await.until(AWAIT, () -> victim.requests() > 100 && steady.requests() > 100, "both endpoints serve");
            assertThat(incidents(sluice).path("open")).isEmpty();

            victim.kill();
            JsonNode opened = Await.value(Duration.ofSeconds(5), () -> incidents(sluice).path("open"),
                    open -> open.size() == 1, "an incident opened within 5 s of the kill").get(0);
            assertThat(opened.path("cluster").asText()).isEqualTo("api");
            assertThat(opened.path("failure_kinds").get(0).path("kind").asText()).isEqualTo("connect_refused");
            assertThat(opened.path("endpoints").get(0).path("address").asText()).isEqualTo(victim.address());
            assertThat(opened.path("routes").get(0).path("name").asText()).isEqualTo("api");
            assertThat(opened.path("config").path("version").asInt()).isEqualTo(1);
            assertThat(opened.path("opened_because").asText()).contains(victim.address());
            Await.until(AWAIT, () -> !hook.alerts("open").isEmpty(), "the open alert arrived");

            victim.revive();
            JsonNode closed = Await.value(AWAIT, () -> incidents(sluice).path("recent"), recent -> recent.size() == 1,
                    "the incident closed once the endpoint was back").get(0);
            Await.until(AWAIT, () -> !hook.alerts("close").isEmpty(), "the close alert arrived");
            load.stop();

            assertThat(incidents(sluice).path("open")).isEmpty();
            assertThat(closed.path("id").asInt()).isEqualTo(opened.path("id").asInt());
            assertThat(closed.path("closed_how").asText()).startsWith("recovered");
            assertThat(closed.path("actions").path("ejections").asInt()).isPositive();
            List<String> timeline = new ArrayList<>();
            closed.path("timeline").forEach(e -> timeline.add(e.path("event").asText()));
            assertThat(timeline.getFirst()).startsWith("opened: endpoint " + victim.address());
            assertThat(timeline).anySatisfy(e -> assertThat(e).isEqualTo("endpoint " + victim.address() + " ejected"));
            assertThat(timeline.getLast()).startsWith("closed: recovered");

            List<WebhookReceiver.Alert> alerts = hook.alerts();
            assertThat(alerts).extracting(WebhookReceiver.Alert::event).containsExactly("open", "close");
            assertThat(alerts).allSatisfy(a -> assertThat(a.signed()).as("signed with the secret").isTrue());
            assertThat(alerts.get(0).body().path("incident").path("failure_kinds").get(0).path("kind").asText())
                    .isEqualTo("connect_refused");
            assertThat(alerts.get(0).body().path("incident").path("endpoints").get(0).path("address").asText())
                    .isEqualTo(victim.address());
            assertThat(alerts.get(1).body().path("incident").path("state").asText()).isEqualTo("closed");
            assertThat(alerts.get(0).delivery()).isEqualTo("incident-" + opened.path("id").asInt() + "-open");
        }
    }

    /** /a/ goes to cluster a at {@code aEndpoint}, everything else to b. */
    private static String twoClusters(String aEndpoint, CountingBackend b, String hook) {
        return ControlConfigs.twoClusters(aEndpoint, b.address(), """
                versions: { auto_rollback: true }
                incidents: { close_after: 1s }
                alerts: { webhook: "%s", secret: %s }
                """.formatted(hook, SECRET));
    }

    @Test
    void aConfigWhoseRouteGoesToADeadClusterIsOneIncidentThatRecordsItsAutomaticRollback() throws Exception {
        try (WebhookReceiver hook = new WebhookReceiver(SECRET);
             CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(twoClusters(a.address(), b, hook.url()), dir,
                     Duration.ofMillis(1500))) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/a/x");
            Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("last_known_good").asInt() == 1,
                    "version 1 baked");

            sluice.admin().post("/config", twoClusters("127.0.0.1:1", b, hook.url()));
            Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("current").asInt() == 3,
                    "version 2 rolled back by itself");
            JsonNode closed = Await.value(AWAIT, () -> incidents(sluice).path("recent"), recent -> recent.size() == 1,
                    "the incident closed after the rollback").get(0);
            Await.until(AWAIT, () -> !hook.alerts("close").isEmpty(), "the close alert arrived");
            load.stop();

            assertThat(incidents(sluice).path("open")).isEmpty();
            assertThat(closed.path("cluster").asText()).isEqualTo("a");
            assertThat(closed.path("failure_kinds").get(0).path("kind").asText()).isEqualTo("connect_refused");
            assertThat(closed.path("config").path("version").asInt()).isEqualTo(2);
            assertThat(closed.path("config").path("changed_just_before").path("source").asText())
                    .isEqualTo("POST /config");
            assertThat(closed.path("actions").path("rollbacks")).hasSize(1);
            assertThat(closed.path("actions").path("rollbacks").get(0).asText())
                    .startsWith("auto-rollback: version 2 was judged bad (gateway error ratio")
                    .endsWith("now serving version 3, restored from version 1");
            assertThat(hook.alerts()).extracting(WebhookReceiver.Alert::event).containsExactly("open", "close");
            assertThat(hook.alerts()).allSatisfy(alert -> assertThat(alert.signed()).isTrue());
        }
    }

    private static JsonNode incidents(InProcessSluice sluice) {
        return sluice.admin().get("/incidents").json();
    }
}
