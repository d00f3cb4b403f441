package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import dev.sluice.testing.HeadlessChromium;
import dev.sluice.testing.Ports;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;

/**
 * The dashboard in a real browser (Debian's headless Chromium, driven by its chromedriver): under
 * load, an endpoint killed shows as not healthy and an incident naming {@code connect_refused} and
 * the endpoint appears; once it is back the endpoint is healthy and the incident closed. The
 * rollback button works from the page; a page of another origin cannot roll back. A canary is
 * drawn step by step as it goes to 100%, each judged step with its figures. Screenshots go to
 * {@code target/}.
 */
class DashboardBrowserTest {
    private static final Duration AWAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static String config(String endpoints) {
        return ControlConfigs.oneCluster(endpoints, "incidents: { close_after: 1s }\n");
    }

    private WebDriver browser() throws Exception {
        return HeadlessChromium.start(Files.createDirectory(dir.resolve("chromium")));
    }

    @Test
    void theDashboardShowsAKilledEndpointAndItsIncidentThenTheRecovery() throws Exception {
        try (CountingBackend steady = new CountingBackend("steady");
             KillableEndpoint victim = new KillableEndpoint(Ports.freeLoopbackPort());
             InProcessSluice sluice = InProcessSluice.start(config(steady.address() + ", " + victim.address()), dir,
                     Duration.ofMinutes(10))) {
            WebDriver browser = browser();
            try {
                String admin = "http://127.0.0.1:" + sluice.instance().adminAddress().orElseThrow().getPort() + "/";
                browser.get(admin);
                SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/x");
                Await.until(AWAIT, () -> health(browser, victim.address()).equals("healthy")
                        && victim.requests() > 100, "the page shows the endpoint healthy under load");
                assertThat(incidents(browser, "open")).isEmpty();

                victim.kill();
                Await.until(AWAIT, () -> !health(browser, victim.address()).equals("healthy"),
                        "the page shows the killed endpoint out");
                String text = Await.value(AWAIT, () -> incidents(browser, "open"), shown -> !shown.isEmpty(),
                        "the page shows an open incident");
                assertThat(text.lines()).hasSize(1);
                assertThat(text).contains("connect_refused").contains(victim.address()).contains("cluster api");
                screenshot(browser, "dashboard-incident-open.png");

                victim.revive();
                Await.until(AWAIT, () -> !incidents(browser, "closed").isEmpty()
                        && health(browser, victim.address()).equals("healthy"),
                        "the page shows the endpoint healthy and the incident closed");
                screenshot(browser, "dashboard-incident-closed.png");
                load.stop();
                assertThat(incidents(browser, "closed")).contains("connect_refused").contains("closed")
                        .contains("recovered");
            } finally {
                browser.quit();
            }
        }
    }

    @Test
    void theRollbackButtonWorksFromThePageAndAPageOfAnotherOriginCannotRollBack() throws Exception {
        try (CountingBackend backend = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(backend.address()), dir, Duration.ofMinutes(10))) {
            sluice.admin().post("/config", config(backend.address()) + "# version 2\n");
            int adminPort = sluice.instance().adminAddress().orElseThrow().getPort();
            HttpServer otherSite = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
            // A page of another origin posting to the admin API, as a malicious page a operator visits would.
            otherSite.createContext("/", exchange -> {
                byte[] page = ("<!doctype html><title>other</title><script>"
                        + "fetch('http://127.0.0.1:" + adminPort + "/rollback?to=1', {method: 'POST', mode: 'no-cors'})"
                        + ".then(() => document.title = 'sent', e => document.title = 'failed: ' + e);"
                        + "</script>").getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/html");
                exchange.sendResponseHeaders(200, page.length);
                exchange.getResponseBody().write(page);
                exchange.close();
            });
            otherSite.start();
            WebDriver browser = browser();
            try {
                browser.get("http://127.0.0.1:" + otherSite.getAddress().getPort() + "/");
                Await.until(AWAIT, () -> !browser.getTitle().equals("other"), "the other page's POST completed");
                assertThat(browser.getTitle()).isEqualTo("sent");
                assertThat(sluice.admin().get("/config/versions").json().path("current").asInt())
                        .as("the cross-origin POST rolled nothing back").isEqualTo(2);

                browser.get("http://127.0.0.1:" + adminPort + "/");
                // Found and clicked in one script: the page redraws every second.
                Await.until(AWAIT, () -> text(browser, "const b = document.querySelector(\"[data-rollback='1']\");"
                        + " if (b) { b.click(); } return b ? 'clicked' : '';").equals("clicked"),
                        "the page offers to roll back to version 1");
                Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("current").asInt() == 3,
                        "the page rolled back to version 1 (as version 3)");
                Await.until(AWAIT, () -> browser.findElement(By.id("rollback-result")).getText()
                        .equals("now serving version 3 (restored from 1)"), "the page says what it did");
                screenshot(browser, "dashboard-rolled-back.png");
            } finally {
                browser.quit();
                otherSite.stop(0);
            }
        }
    }

    /** Route {@code api} split between {@code stable} and {@code canary}, the canary at {@code weight}. */
    private static String canaryConfig(CountingBackend stable, CountingBackend canary, int weight) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: / }
                    backends: [{ cluster: stable, weight: %d }, { cluster: canary, weight: %d }]
                    canary:
                      steps: [20, 50, 100]
                      # Long enough for the page (polling every second) to show each step on a loaded machine.
                      interval: 4s
                      min_requests: 5
                      latency: { min_increase: 1s }
                clusters:
                  - name: stable
                    endpoints: [%s]
                  - name: canary
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                """.formatted(100 - weight, weight, stable.address(), canary.address());
    }

    @Test
    void theDashboardShowsACanaryStepByStepToItsPromotion() throws Exception {
        try (CountingBackend stable = new CountingBackend("stable");
             CountingBackend canary = new CountingBackend("canary");
             InProcessSluice sluice = InProcessSluice.start(canaryConfig(stable, canary, 0), dir,
                     Duration.ofMinutes(10))) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/x");
            WebDriver browser = browser();
            try {
                browser.get("http://127.0.0.1:" + sluice.instance().adminAddress().orElseThrow().getPort() + "/");
                Await.until(AWAIT, () -> canary(browser).equals("idle  0"), "the page shows the canary idle at 0%");

                // Deployed: the canary's first step.
                sluice.writeConfig(canaryConfig(stable, canary, 20));
                assertThat(sluice.admin().post("/reload").status()).isEqualTo(200);
                Await.until(AWAIT, () -> canary(browser).equals("running 1 20"), "the page shows step 1 at 20%");
                assertThat(judged(browser)).isEmpty();
                assertThat(text(browser, "return document.querySelector(\".canary[data-route='api']\").innerText;"))
                        .contains("route api · canary canary against stable · running · 20%")
                        .contains("error ratio at most 1.0% above the stable's · p99 at most 1.5× the stable's "
                                + "(or under 1000 ms above it) · at least 5 requests each");

                Await.until(AWAIT, () -> canary(browser).equals("running 2 50"), "the page shows step 2 at 50%");
                assertThat(judged(browser)).singleElement().asString().startsWith("1 passed step 1 (20%)");
                screenshot(browser, "dashboard-canary-running.png");

                Await.until(AWAIT, () -> canary(browser).equals("promoted  100"), "the page shows the promotion");
                screenshot(browser, "dashboard-canary-promoted.png");
                List<String> rows = judged(browser);
                assertThat(rows).hasSize(2);
                // The figures drawn are those of GET /canaries.
                JsonNode run = sluice.admin().get("/canaries").json().path("canaries").get(0);
                for (int i = 0; i < 2; i++) {
                    JsonNode j = run.path("judged").get(i);
                    assertThat(rows.get(i)).startsWith((i + 1) + " passed step " + (i + 1) + " (" + j.path("weight")
                            .asInt() + "%)").contains(j.path("canary").path("requests").asLong() + " req · 0.0% errors · p99")
                            .contains(j.path("stable").path("requests").asLong() + " req · 0.0% errors · p99")
                            .contains(j.path("text").asText());
                }
                String endedAt = run.path("ended_at").asText();
                assertThat(text(browser, "return document.querySelector(\".canary[data-route='api'] .ended\").innerText;"))
                        .startsWith("ended " + endedAt.substring(0, 10) + " " + endedAt.substring(11, 19)
                                + " UTC: canary canary promoted on route api: step 2 of 3 (50%) passed")
                        .endsWith("recorded as version " + run.path("recorded_version").asInt());

                Await.until(AWAIT, () -> text(browser, "const h = document.querySelector(\".canary[data-route='api'] "
                        + ".held\"); return h ? h.innerText : '';").startsWith("held at 100%"), "the page shows the hold");
                assertThat(text(browser, "return document.querySelector(\".canary[data-route='api'] .held\").innerText;"))
                        .endsWith("; a config that sets the canary to 0 (the stable pointed at the new version), or a "
                                + "changed canary, ends it");

                assertThat(sluice.admin().post("/canaries/api/abort").status()).isEqualTo(200);
                Await.until(AWAIT, () -> canary(browser).equals("aborted  0"), "the page shows the abort");
                // Held at 0 over reloads and restarts, as GET /canaries says (after a restart too: CanaryRestartTest).
                Await.until(AWAIT, () -> text(browser, "return document.querySelector(\".canary[data-route='api'] "
                        + ".canary-status\").innerText;").equals("aborted (held)"), "the page shows the hold");
                assertThat(text(browser, "return document.querySelector(\".canary[data-route='api'] .held\").innerText;"))
                        .startsWith("held at 0% over reloads and restarts (canary canary aborted on route api by an "
                                + "operator, at 100%)");
            } finally {
                browser.quit();
                load.stop();
            }
        }
    }

    /** The canary of route api as the page draws it: "status step weight", or "" before it is drawn. */
    private static String canary(WebDriver browser) {
        return text(browser, "const c = document.querySelector(\".canary[data-route='api']\");"
                + " return c ? c.dataset.status + ' ' + c.dataset.step + ' ' + c.dataset.weight : '';");
    }

    /** The judged steps the page shows: "STEP VERDICT" then the row's text, one per step. */
    private static List<String> judged(WebDriver browser) {
        String rows = text(browser, "return Array.from(document.querySelectorAll(\".canary[data-route='api'] tr.judged\"))"
                + ".map(r => r.dataset.step + ' ' + r.dataset.verdict + ' ' + r.innerText.replace(/\\s+/g, ' '))"
                + ".join('\\n');");
        return rows.isEmpty() ? List.of() : rows.lines().toList();
    }

    /**
     * What the page says of the endpoint's health, or "" before it is drawn. Read in one script:
     * the page redraws every second, so an element found in one call may be gone by the next.
     */
    private static String health(WebDriver browser, String address) {
        return text(browser, "const r = document.querySelector(\"tr.endpoint[data-address='" + address + "']\");"
                + " return r ? r.dataset.health : '';");
    }

    /** The text of the incidents shown in {@code state} (open, closed), one per line. */
    private static String incidents(WebDriver browser, String state) {
        return text(browser, "return Array.from(document.querySelectorAll(\".incident[data-state='" + state + "']\"))"
                + ".map(i => i.innerText.replace(/\\n/g, ' ')).join('\\n');");
    }

    private static String text(WebDriver browser, String script) {
        Object value = ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(script);
        return value == null ? "" : value.toString();
    }

    private static void screenshot(WebDriver browser, String name) throws Exception {
        File shot = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", name);
        Files.createDirectories(target.getParent());
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }
}
