package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sluice.Instance;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.Ports;
import dev.sluice.testing.PrometheusText;
import dev.sluice.testing.TestBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard ({@code docs/grafana/sluice.json}) and the alert rules
 * ({@code docs/prometheus/alerts.yml}) are parsed, and every metric they name, with every label
 * and label value their selectors match on, is checked against a real Sluice's scrape: a renamed
 * metric or label breaks this test, not a dashboard at 3 am.
 */
class EcosystemFilesTest {
    private static final Pattern METRIC = Pattern.compile("\\bsluice_[a-z0-9_]+\\b");
    private static final Pattern SELECTOR = Pattern.compile("(sluice_[a-z0-9_]+)\\{([^}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");
    /** Labels Prometheus adds when it scrapes, not Sluice. */
    private static final Set<String> TARGET_LABELS = Set.of("instance", "job");

    private static TestBackend live;
    private static Instance sluice;
    private static PrometheusText scrape;

    @BeforeAll
    static void scrapeARealSluiceAfterTraffic() throws Exception {
        MetricsEndpointTest client = new MetricsEndpointTest();
        live = TestBackend.builder().handler(BackendHandlers.fixed(200, "ok")).keepAliveTimeout(7).start();
        sluice = MetricsEndpointTest.start(MetricsEndpointTest.config(live, Ports.freeLoopbackPort(), ""));
        assertThat(client.get(sluice, "/api/x")).isEqualTo(200);
        assertThat(client.get(sluice, "/broken/x")).isEqualTo(502);
        scrape = Await.value(Duration.ofSeconds(10), () -> client.scrape(sluice),
                s -> s.sum("sluice_requests_total") == 2, "2 requests counted");
    }

    @AfterAll
    static void stop() {
        if (sluice != null) {
            sluice.close();
        }
        if (live != null) {
            live.close();
        }
    }

    @Test
    void theGrafanaDashboardIsWellFormedAndNamesOnlyMetricsAndLabelsThatAreScraped() throws Exception {
        String text = Files.readString(Path.of("docs/grafana/sluice.json"));
        JsonNode dashboard = new ObjectMapper().readTree(text);

        assertThat(dashboard.path("title").asText()).isEqualTo("Sluice");
        assertThat(dashboard.path("uid").asText()).isNotEmpty();
        List<String> expressions = new ArrayList<>();
        Set<Integer> ids = new HashSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(ids.add(panel.path("id").asInt())).as("panel ids are unique: " + panel.path("title")).isTrue();
            JsonNode grid = panel.path("gridPos");
            assertThat(grid.path("x").asInt() + grid.path("w").asInt()).as(panel.path("title").asText()).isLessThanOrEqualTo(24);
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            assertThat(panel.path("title").asText()).isNotEmpty();
            assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${datasource}");
            assertThat(panel.path("targets")).as(panel.path("title").asText()).isNotEmpty();
            for (JsonNode target : panel.path("targets")) {
                assertThat(target.path("refId").asText()).isNotEmpty();
                expressions.add(target.path("expr").asText());
            }
        }
        dashboard.path("templating").path("list").forEach(v -> expressions.add(v.path("definition").asText()));
        dashboard.path("annotations").path("list").forEach(a -> expressions.add(a.path("expr").asText()));

        assertThat(expressions).hasSizeGreaterThan(20);
        checkAgainstScrape(text, expressions);
    }

    @Test
    void theAlertRulesAreWellFormedAndNameOnlyMetricsAndLabelsThatAreScraped() throws Exception {
        String text = Files.readString(Path.of("docs/prometheus/alerts.yml"));
        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(text);

        List<String> expressions = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode group : rules.path("groups")) {
            assertThat(group.path("name").asText()).isNotEmpty();
            for (JsonNode rule : group.path("rules")) {
                String alert = rule.path("alert").asText();
                assertThat(alert).matches("Sluice[A-Z][A-Za-z0-9]+");
                assertThat(names.add(alert)).as("alert names are unique: " + alert).isTrue();
                assertThat(rule.path("labels").path("severity").asText()).as(alert).isIn("page", "warning");
                assertThat(rule.path("annotations").path("summary").asText()).as(alert).isNotEmpty();
                if (rule.has("for")) {
                    assertThat(rule.path("for").asText()).as(alert).matches("\\d+[smh]");
                }
                expressions.add(rule.path("expr").asText());
            }
        }
        assertThat(names).contains("SluiceGateway5xxRatioHigh", "SluiceEndpointsEjected", "SluiceRetryBudgetExhausted",
                "SluiceConfigJudgedBad", "SluiceConfigRolledBack", "SluiceShedding");
        checkAgainstScrape(text, expressions);
    }

    /**
     * Every metric named anywhere in {@code text} is scraped (a histogram's or counter's sample
     * names included), and in {@code expressions} every selector's labels are labels of that
     * metric, and its exact values (and each alternative of a plain regex) values it has.
     */
    private static void checkAgainstScrape(String text, List<String> expressions) {
        Set<String> named = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            named.add(m.group());
        }
        assertThat(named).isNotEmpty();
        assertThat(named.stream().filter(n -> !scrape.exports(n)).toList()).as("metrics not in a scrape").isEmpty();

        List<String> problems = new ArrayList<>();
        for (String expression : expressions) {
            Matcher selector = SELECTOR.matcher(expression);
            while (selector.find()) {
                String metric = selector.group(1);
                List<PrometheusText.Sample> samples = scrape.samples(metric);
                Matcher matcher = MATCHER.matcher(selector.group(2));
                while (matcher.find()) {
                    String label = matcher.group(1);
                    String op = matcher.group(2);
                    String value = matcher.group(3);
                    if (TARGET_LABELS.contains(label)) {
                        continue;
                    }
                    Set<String> values = new HashSet<>();
                    samples.stream().filter(s -> s.labels().containsKey(label)).forEach(s -> values.add(s.labels().get(label)));
                    if (values.isEmpty()) {
                        problems.add(metric + " has no label " + label + " (in " + expression + ")");
                    } else if (!value.contains("$") && !value.isEmpty() && (op.equals("=") || op.equals("=~"))) {
                        for (String alternative : op.equals("=") ? List.of(value) : List.of(value.split("\\|"))) {
                            if (alternative.matches("[a-z0-9_]+") && !values.contains(alternative)) {
                                problems.add(metric + " has no " + label + "=\"" + alternative + "\" (has " + values + ")");
                            }
                        }
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
    }
}
