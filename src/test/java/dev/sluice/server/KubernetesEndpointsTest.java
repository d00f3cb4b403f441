package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.kubernetes.KubernetesDiscovery;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.FaultRelay;
import dev.sluice.testing.KubernetesApi;
import dev.sluice.testing.KubernetesApi.Pod;
import dev.sluice.testing.LoadGenerator;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import dev.sluice.upstream.Endpoint;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Endpoints from a Kubernetes Service on real sockets: a Kubernetes API (fabric8's mock server in
 * CRUD mode, serving the real types and watches) whose EndpointSlices the test writes as the
 * EndpointSlice controller would, backends on loopback addresses standing for pods, and a Sluice
 * that reaches the API through a kubeconfig file.
 */
class KubernetesEndpointsTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final String NS = "shop";

    @TempDir
    Path dir;

    private static TestBackend pod(String ip, int port, String body) {
        return TestBackend.builder().handler(BackendHandlers.fixed(200, body)).bindTo(new InetSocketAddress(ip, port))
                .start();
    }

    private static String config(Path kubeconfig, String clusters) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                """ + clusters.formatted(kubeconfig);
    }

    /** No concurrency limit: what these tests count is endpoints and requests, never load shed on a busy machine. */
    private static final String WEB = """
              - name: web
                kubernetes: { service: web, namespace: shop, port: http, kubeconfig: %s }
                concurrency: { limit: off }
            """;

    private static List<String> endpoints(TestGateway gw, String cluster) {
        return gw.gateway().snapshot().clusters().get(cluster).endpoints().stream().map(Endpoint::address).toList();
    }

    private static KubernetesDiscovery.Standing standing(TestGateway gw, String cluster) {
        return gw.gateway().kubernetes().standing(cluster).orElseThrow();
    }

    private static String get(TestGateway gw) {
        try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
            return client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).bodyString();
        }
    }

    private static LoadGenerator.Run steadyLoad(TestGateway gw) {
        return LoadGenerator.to(URI.create(gw.url("/"))).connections(4).requests(10_000_000).duration(Duration.ofMinutes(2))
                .start();
    }

    /** Every request answered 200 by a pod; a failure says why the others were not (x-sluice-error, access log). */
    private static void assertNoClientError(LoadGenerator.Result result, TestGateway gw) {
        assertThat(result.transportErrors()).as("connections cut or refused").isEmpty();
        assertThat(result.statusCounts()).as("every request answered by a pod; refused: %s; their access-log lines: %s",
                result.refusals(), refusedLines(gw)).containsOnlyKeys(200);
        assertThat(result.requests()).isPositive();
    }

    /** The access-log lines of responses other than 200, the first few. */
    private static List<String> refusedLines(TestGateway gw) {
        return gw.accessLogLines().stream().filter(l -> !l.contains(" 200 ")).limit(5).toList();
    }

    @Test
    void aRollingUpdateUnderSteadyLoadCostsNoClientError() throws Exception {
        try (KubernetesApi api = KubernetesApi.start();
             TestBackend old = pod("127.0.0.11", 0, "old");
             TestBackend fresh = pod("127.0.0.12", old.port(), "new")) {
            int port = old.port();
            api.service(NS, "web", Map.of("app", "web"), "http", 80, port);
            api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-old", "127.0.0.11"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "default");
            try (TestGateway gw = TestGateway.fromYaml(config(kubeconfig, WEB))) {
                assertThat(endpoints(gw, "web")).as("the first listing, before the first request")
                        .containsExactly("127.0.0.11:" + port);
                Endpoint oldEndpoint = gw.gateway().snapshot().clusters().get("web").endpoints().getFirst();
                try (LoadGenerator.Run load = steadyLoad(gw)) {
                    Await.until(T, () -> old.requestCount() > 20, "load on the old pod");

                    // The Deployment's new pod starts: in the slice, not ready yet.
                    api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-old", "127.0.0.11"),
                            Pod.starting("web-new", "127.0.0.12"));
                    Await.until(T, () -> standing(gw, "web").notReady() == 1 && fresh.requestCount() == 0
                            && endpoints(gw, "web").size() == 1, "the starting pod takes nothing");
                    // Ready: it takes traffic beside the old one.
                    api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-old", "127.0.0.11"),
                            Pod.ready("web-new", "127.0.0.12"));
                    Await.until(T, () -> fresh.requestCount() > 20, "load on the new pod");
                    assertThat(endpoints(gw, "web")).containsExactlyInAnyOrder("127.0.0.11:" + port, "127.0.0.12:" + port);
                    assertThat(gw.gateway().snapshot().clusters().get("web").endpoints())
                            .as("the old pod's endpoint kept through the rewrite").contains(oldEndpoint);
                    // The old pod is deleted: terminating, still serving what it has.
                    api.slice(NS, "web-1", "web", "http", port, Pod.terminating("web-old", "127.0.0.11"),
                            Pod.ready("web-new", "127.0.0.12"));
                    Await.until(T, () -> endpoints(gw, "web").equals(List.of("127.0.0.12:" + port)),
                            "the terminating pod out of the cluster");
                    // Out of the cluster first, then retired: no pick can see a retired endpoint.
                    Await.until(T, oldEndpoint::retired, "the terminating pod's endpoint drained");
                    Await.until(T, () -> old.openConnections() == 0, "the terminating pod drained: "
                            + "its in-flight requests finished, its pooled connections closed");
                    int oldServed = old.requestCount();
                    // Its process exits, and the controller removes it from the slice.
                    old.close();
                    api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-new", "127.0.0.12"));
                    int before = fresh.requestCount();
                    Await.until(T, () -> fresh.requestCount() > before + 50, "load goes on, on the new pod");
                    load.finish();
                    assertNoClientError(load.await(T), gw);
                    assertThat(old.requestCount()).as("nothing reached the old pod once it terminated")
                            .isEqualTo(oldServed);
                }
            }
        }
    }

    @Test
    void aWatchCutAndRestoredLosesNoEndpointAndNoRequest() throws Exception {
        try (KubernetesApi api = KubernetesApi.start();
             FaultRelay relay = FaultRelay.start(api.address());
             TestBackend first = pod("127.0.0.21", 0, "first");
             TestBackend second = pod("127.0.0.22", first.port(), "second")) {
            int port = first.port();
            api.service(NS, "web", Map.of("app", "web"), "http", 80, port);
            api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-1", "127.0.0.21"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, relay.address(), "default");
            try (TestGateway gw = TestGateway.fromYaml(config(kubeconfig, WEB))) {
                // Its first listing is in the cluster before the first request when it comes within the start's
                // wait (5 s); on a machine so busy that it comes later, the load starts once it is there.
                Await.until(T, () -> standing(gw, "web").watch().equals("watching")
                        && endpoints(gw, "web").equals(List.of("127.0.0.21:" + port)), "the watch open, its endpoint known");
                try (LoadGenerator.Run load = steadyLoad(gw)) {
                    Await.until(T, () -> first.requestCount() > 20, "load on the first pod");

                    // The API server goes away: the watch's connections are cut, new ones refused.
                    relay.refuse();
                    relay.resetAllConnections();
                    Await.until(T, () -> standing(gw, "web").watch().equals("reconnecting"), "the watch seen broken");
                    int during = first.requestCount();
                    Await.until(T, () -> first.requestCount() > during + 50, "traffic goes on meanwhile");
                    assertThat(endpoints(gw, "web")).as("the last known endpoints kept")
                            .containsExactly("127.0.0.21:" + port);
                    // Meanwhile the Service scales out; Sluice learns it when the watch is back.
                    api.slice(NS, "web-1", "web", "http", port, Pod.ready("web-1", "127.0.0.21"),
                            Pod.ready("web-2", "127.0.0.22"));

                    relay.accept();
                    Await.until(T, () -> standing(gw, "web").watch().equals("watching"), "the watch back");
                    Await.until(T, () -> endpoints(gw, "web").size() == 2, "the change made during the cut");
                    Await.until(T, () -> second.requestCount() > 20, "load on the new pod");
                    load.finish();
                    assertNoClientError(load.await(T), gw);
                }
                assertThat(standing(gw, "web").error()).as("cleared once watching again").isNull();
            }
        }
    }

    @Test
    void twoServicesSelectingTheSamePodAreReportedNamingBoth() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            // The incident: the website's selector also matched the Elasticsearch pods.
            api.service(NS, "website", Map.of("tier", "front"), "http", 80, 8080);
            api.service(NS, "elasticsearch", Map.of("app", "es"), "http", 9200, 9200);
            api.slice(NS, "website-1", "website", "http", 8080, Pod.ready("website-0", "127.0.0.31"),
                    Pod.ready("es-0", "127.0.0.41"));
            api.slice(NS, "elasticsearch-1", "elasticsearch", "http", 9200, Pod.ready("es-0", "127.0.0.41"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "default");
            String clusters = """
                      - name: web
                        kubernetes: { service: website, namespace: shop, port: http, kubeconfig: %1$s }
                      - name: search
                        kubernetes: { service: elasticsearch, namespace: shop, port: 9200, kubeconfig: %1$s }
                    """;
            try (TestGateway gw = TestGateway.fromYaml(config(kubeconfig, clusters))) {
                Await.until(T, () -> !gw.gateway().kubernetes().overlaps().isEmpty(), "the overlap found");
                assertThat(gw.gateway().kubernetes().overlaps()).singleElement().satisfies(o -> {
                    assertThat(o.describe()).contains("shop/website", "'web'", "shop/elasticsearch", "'search'");
                    assertThat(o.pods()).containsExactly("shop/es-0");
                });
                assertThat(standing(gw, "web").overlaps()).singleElement().asString().contains("shop/es-0");
                assertThat(gw.gateway().metrics().scrape())
                        .contains("sluice_kubernetes_overlapping_pods{cluster=\"web\",other_cluster=\"search\"} 1.0")
                        .contains("sluice_kubernetes_overlapping_pods{cluster=\"search\",other_cluster=\"web\"} 1.0");

                // The selector fixed: the report goes.
                api.slice(NS, "website-1", "website", "http", 8080, Pod.ready("website-0", "127.0.0.31"));
                Await.until(T, () -> gw.gateway().kubernetes().overlaps().isEmpty(), "the overlap gone");
                assertThat(gw.gateway().metrics().scrape()).doesNotContain("sluice_kubernetes_overlapping_pods{");
            }
        }
    }

    @Test
    void servicesThatBothSayTheyAreSharedAreNotReported() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service(NS, "api", Map.of("app", "api"), "http", 80, 8080);
            api.service(NS, "api-canary", Map.of("app", "api"), "http", 80, 8080);
            api.slice(NS, "api-1", "api", "http", 8080, Pod.ready("api-0", "127.0.0.51"));
            api.slice(NS, "api-canary-1", "api-canary", "http", 8080, Pod.ready("api-0", "127.0.0.51"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "default");
            String clusters = """
                      - name: web
                        kubernetes: { service: api, namespace: shop, kubeconfig: %1$s, shared: true }
                      - name: canary
                        kubernetes: { service: api-canary, namespace: shop, kubeconfig: %1$s, shared: true }
                    """;
            try (TestGateway gw = TestGateway.fromYaml(config(kubeconfig, clusters))) {
                Await.until(T, () -> endpoints(gw, "canary").size() == 1 && endpoints(gw, "web").size() == 1,
                        "both listed");
                assertThat(gw.gateway().kubernetes().overlaps()).isEmpty();
            }
        }
    }

    @Test
    void aServiceThatDoesNotExistIsAWarningAndItsEndpointsComeWhenItDoes() throws Exception {
        try (KubernetesApi api = KubernetesApi.start();
             TestBackend backend = pod("127.0.0.61", 0, "late")) {
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "shop");
            String clusters = """
                      - name: web
                        kubernetes: { service: web, kubeconfig: %s }
                    """;
            try (TestGateway gw = TestGateway.fromYaml(config(kubeconfig, clusters))) {
                Await.until(T, () -> standing(gw, "web").service().equals("missing"), "the Service seen missing");
                assertThat(standing(gw, "web").name()).as("the kubeconfig context's namespace").isEqualTo("shop/web");
                assertThat(endpoints(gw, "web")).isEmpty();
                try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
                    assertThat(client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).status()).isEqualTo(503);
                }

                api.service("shop", "web", Map.of("app", "web"), "http", 80, backend.port());
                api.slice("shop", "web-1", "web", "http", backend.port(), Pod.ready("web-0", "127.0.0.61"));
                Await.until(T, () -> endpoints(gw, "web").size() == 1, "the Service's endpoints, once it exists");
                assertThat(get(gw)).isEqualTo("late");
                assertThat(standing(gw, "web").service()).isEqualTo("found");
            }
        }
    }
}
