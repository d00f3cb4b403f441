package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    static final String MINIMAL = """
            listeners:
              - address: 127.0.0.1:8080
            routes:
              - match: { path_prefix: / }
                cluster: app
            clusters:
              - name: app
                endpoints: [127.0.0.1:9001, 127.0.0.1:9002]
            admin:
              address: 127.0.0.1:9901
            """;

    @Test
    void minimalConfigFromTheArchitectureLoadsAsWrittenWithEveryDefault() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(MINIMAL, "sluice.yaml");

        assertThat(config.source()).isEqualTo("sluice.yaml");
        assertThat(config.server()).isEqualTo(ServerConfig.DEFAULT);
        assertThat(config.listeners()).containsExactly(ListenerConfig.of(new HostPort("127.0.0.1", 8080)));
        assertThat(config.listeners().get(0).name()).isEqualTo("127.0.0.1:8080");
        assertThat(config.routes()).containsExactly(
                new RouteConfig("route-1", MatchConfig.prefix("/"), "app", RouteConfig.DEFAULT_TIMEOUT));
        assertThat(config.clusters()).containsExactly(ClusterConfig.of("app", List.of(
                EndpointConfig.of(new HostPort("127.0.0.1", 9001)),
                EndpointConfig.of(new HostPort("127.0.0.1", 9002)))));
        assertThat(config.clusters().get(0).learnIdleTimeout()).isTrue();
        assertThat(config.admin()).contains(new AdminConfig(new HostPort("127.0.0.1", 9901)));
        assertThat(config.accessLog()).isEqualTo(AccessLogConfig.STDOUT);
    }

    @Test
    void everyKeyIsBoundToItsRecordField() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                server:
                  event_loop_threads: 3
                listeners:
                  - name: public
                    address: "[::1]:0"
                    idle_timeout: 5m
                    header_timeout: 250ms
                    max_request_line: 4KiB
                    max_header_size: 1MiB
                    max_headers: 50
                    trusted_proxies: [10.0.0.0/8, 127.0.0.1/32, "::1/128", 192.168.1.7]
                routes:
                  - name: api
                    match:
                      host: "*.Example.com"
                      path: /api/v1
                      methods: [get, POST, GET]
                      headers: { X-Version: "2", x-canary: 1.10 }
                    cluster: app
                    timeout: 1h
                clusters:
                  - name: app
                    endpoints:
                      - 10.0.0.1:80
                      - address: backend.internal:8080
                        labels: { zone: a, version: 2 }
                    connect_timeout: 500ms
                    idle_timeout: 30s
                    max_idle_per_endpoint: 0
                    load_balancer: round_robin
                access_log:
                  path: /var/log/sluice/access.log
                """, "full.yaml");

        assertThat(config.server().eventLoopThreads()).isEqualTo(3);
        assertThat(config.listeners()).containsExactly(new ListenerConfig("public", new HostPort("::1", 0),
                Duration.ofMinutes(5), Duration.ofMillis(250), 4096, 1024 * 1024, 50,
                List.of("10.0.0.0/8", "127.0.0.1/32", "::1/128", "192.168.1.7/32")));
        assertThat(config.routes()).containsExactly(new RouteConfig("api", new MatchConfig(
                Optional.of("*.example.com"), Optional.empty(), Optional.of("/api/v1"), List.of("GET", "POST"),
                Map.of("x-version", "2", "x-canary", "1.10")), "app", Duration.ofHours(1)));
        assertThat(config.clusters()).containsExactly(new ClusterConfig("app", List.of(
                        EndpointConfig.of(new HostPort("10.0.0.1", 80)),
                        new EndpointConfig(new HostPort("backend.internal", 8080), Map.of("zone", "a", "version", "2"))),
                Duration.ofMillis(500), Duration.ofSeconds(30), false, 0, ClusterConfig.LoadBalancerKind.ROUND_ROBIN,
                Duration.ZERO, Optional.empty()));
        assertThat(config.admin()).isEmpty();
        assertThat(config.accessLog()).isEqualTo(new AccessLogConfig(true, Optional.of("/var/log/sluice/access.log")));
    }

    @Test
    void unnamedRoutesAreNamedByTheirOneBasedPosition() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                listeners: [{ address: 127.0.0.1:0 }]
                routes:
                  - { match: { path: /health }, cluster: app }
                  - { name: main, match: {}, cluster: app }
                  - { match: { path_prefix: /static/ }, cluster: app }
                clusters: [{ name: app, endpoints: [127.0.0.1:9001] }]
                """, "t.yaml");

        assertThat(config.routes()).extracting(RouteConfig::name).containsExactly("route-1", "main", "route-3");
    }

    @Test
    void clusterIdleTimeoutAutoLearnsFromTheDefaultAndADurationFixesIt() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                listeners: [{ address: 127.0.0.1:0 }]
                routes: [{ match: { path_prefix: / }, cluster: auto }]
                clusters:
                  - { name: auto, endpoints: [127.0.0.1:9001], idle_timeout: auto }
                  - { name: fixed, endpoints: [127.0.0.1:9002], idle_timeout: 2s }
                """, "t.yaml");

        ClusterConfig auto = config.cluster("auto").orElseThrow();
        assertThat(auto.idleTimeout()).isEqualTo(ClusterConfig.DEFAULT_IDLE_TIMEOUT);
        assertThat(auto.learnIdleTimeout()).isTrue();
        ClusterConfig fixed = config.cluster("fixed").orElseThrow();
        assertThat(fixed.idleTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(fixed.learnIdleTimeout()).isFalse();
    }

    @Test
    void clusterConcurrencyIsAdaptiveByDefaultWithTheDocumentedValues() throws ConfigException {
        ClusterConfig app = ConfigLoader.parse(MINIMAL, "t.yaml").cluster("app").orElseThrow();

        assertThat(app.concurrency()).isEqualTo(ConcurrencyConfig.DEFAULT);
        assertThat(ConcurrencyConfig.DEFAULT).isEqualTo(new ConcurrencyConfig(
                ConcurrencyConfig.Mode.ADAPTIVE, 20, 1000, 1000, Duration.ofSeconds(1)));
    }

    @Test
    void concurrencyLimitIsAdaptiveAFixedNumberOrOffWithEachKeyAsWritten() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                listeners: [{ address: 127.0.0.1:0 }]
                routes: [{ match: { path_prefix: / }, cluster: adaptive }]
                clusters:
                  - name: adaptive
                    endpoints: [127.0.0.1:9001]
                    concurrency:
                      limit: adaptive
                      max: 500
                      queue: 0
                      queue_timeout: 250ms
                  - { name: fixed, endpoints: [127.0.0.1:9002], concurrency: { limit: 64, queue: 10 } }
                  - { name: fixed-at-max, endpoints: [127.0.0.1:9003], concurrency: { limit: 64, max: 64 } }
                  - { name: fixed-above-default-max, endpoints: [127.0.0.1:9004], concurrency: { limit: 5000 } }
                  - { name: off, endpoints: [127.0.0.1:9005], concurrency: { limit: off } }
                  - { name: false, endpoints: [127.0.0.1:9006], concurrency: { limit: false, queue_timeout: 5s } }
                  - { name: low-ceiling, endpoints: [127.0.0.1:9007], concurrency: { max: 8 } }
                  - { name: empty, endpoints: [127.0.0.1:9008], concurrency: {} }
                """, "t.yaml");

        assertThat(concurrency(config, "adaptive")).isEqualTo(new ConcurrencyConfig(
                ConcurrencyConfig.Mode.ADAPTIVE, ConcurrencyConfig.DEFAULT_INITIAL_LIMIT, 500, 0, Duration.ofMillis(250)));
        assertThat(concurrency(config, "fixed")).isEqualTo(new ConcurrencyConfig(
                ConcurrencyConfig.Mode.FIXED, 64, 1000, 10, Duration.ofSeconds(1)));
        assertThat(concurrency(config, "fixed-at-max")).isEqualTo(new ConcurrencyConfig(
                ConcurrencyConfig.Mode.FIXED, 64, 64, 1000, Duration.ofSeconds(1)));
        // An unwritten max does not refuse a fixed limit above the default ceiling.
        assertThat(concurrency(config, "fixed-above-default-max")).isEqualTo(ConcurrencyConfig.fixed(5000))
                .extracting(ConcurrencyConfig::max).isEqualTo(5000);
        assertThat(concurrency(config, "off")).isEqualTo(ConcurrencyConfig.OFF);
        assertThat(concurrency(config, "false").mode()).isEqualTo(ConcurrencyConfig.Mode.OFF);
        assertThat(concurrency(config, "false").queueTimeout()).isEqualTo(Duration.ofSeconds(5));
        // A ceiling below the usual start of 20 starts the adaptive limit at the ceiling.
        assertThat(concurrency(config, "low-ceiling")).isEqualTo(new ConcurrencyConfig(
                ConcurrencyConfig.Mode.ADAPTIVE, 8, 8, 1000, Duration.ofSeconds(1)));
        assertThat(concurrency(config, "empty")).isEqualTo(ConcurrencyConfig.DEFAULT);
    }

    @Test
    void endpointsAreAddressesOrMapsWithLabels() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                listeners: [{ address: 127.0.0.1:0 }]
                routes: [{ match: { path_prefix: / }, cluster: app }]
                clusters:
                  - name: app
                    endpoints:
                      - 127.0.0.1:9001
                      - "[::1]:9002"
                      - address: app-2.internal:9003
                      - address: "[2001:db8::7]:9004"
                        labels: { zone: eu-west-1a, track: canary }
                """, "t.yaml");

        assertThat(config.clusters().get(0).endpoints()).containsExactly(
                EndpointConfig.of(new HostPort("127.0.0.1", 9001)),
                EndpointConfig.of(new HostPort("::1", 9002)),
                EndpointConfig.of(new HostPort("app-2.internal", 9003)),
                new EndpointConfig(new HostPort("2001:db8::7", 9004), Map.of("zone", "eu-west-1a", "track", "canary")));
    }

    @Test
    void accessLogCanBeTurnedOffOrPointedAtAFile() throws ConfigException {
        assertThat(accessLog("false")).isEqualTo(new AccessLogConfig(false, Optional.empty()));
        assertThat(accessLog("off")).isEqualTo(new AccessLogConfig(false, Optional.empty()));
        assertThat(accessLog("{ enabled: false, path: a.log }")).isEqualTo(new AccessLogConfig(false, Optional.of("a.log")));
        assertThat(accessLog("{ path: a.log }")).isEqualTo(new AccessLogConfig(true, Optional.of("a.log")));
        assertThat(accessLog("{}")).isEqualTo(AccessLogConfig.STDOUT);
        assertThat(accessLog("true")).isEqualTo(AccessLogConfig.STDOUT);
        assertThat(accessLog("{ redact_query: [session, Token] }").redactQuery()).as("a list replaces the default")
                .contains(List.of("session", "Token"));
        assertThat(accessLog("{ redact_query: [] }").redactQuery()).as("none redacted").contains(List.of());
        assertThat(accessLog("{}").redactQuery()).as("Sluice's default list").isEmpty();
    }

    @Test
    void loadNamesProblemsAfterTheFileAsGiven(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, MINIMAL.replace("path_prefix", "pathprefix"), StandardCharsets.UTF_8);

        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":4:14: unknown key 'pathprefix' in routes[0].match (did you mean 'path_prefix'?)");
    }

    @Test
    void loadReadsAValidFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, MINIMAL, StandardCharsets.UTF_8);

        assertThat(ConfigLoader.load(file).source()).isEqualTo(file.toString());
    }

    @Test
    void aMissingFileIsOneProblemInTheUsualFormat(@TempDir Path dir) {
        Path file = dir.resolve("nope.yaml");

        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":1:1: file not found");
    }

    @Test
    void aFileThatIsNotUtf8IsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xe9, '\n'});

        assertThatThrownBy(() -> ConfigLoader.load(file)).hasMessage(file + ":1:1: file is not valid UTF-8");
    }

    @Test
    void exceptionMessageIsEveryProblemOnItsOwnLine() {
        ConfigException e = ConfigTesting.failure("""
                listeners: []
                routes: []
                clusters: []
                """);

        assertThat(e.problems()).hasSize(3);
        assertThat(e.getMessage()).isEqualTo("""
                test.yaml:1:12: listeners: at least one listener is required
                test.yaml:2:9: routes: at least one route is required
                test.yaml:3:11: clusters: at least one cluster is required""");
    }

    @Test
    void problemPrintsAsFileLineColumnMessage() {
        assertThat(new ConfigProblem("a.yaml", 3, 14, "boom")).hasToString("a.yaml:3:14: boom");
    }

    private static ConcurrencyConfig concurrency(SluiceConfig config, String cluster) {
        return config.cluster(cluster).orElseThrow().concurrency();
    }

    private static AccessLogConfig accessLog(String value) throws ConfigException {
        return ConfigLoader.parse(MINIMAL + "access_log: " + value + "\n", "t.yaml").accessLog();
    }
}
