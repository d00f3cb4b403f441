package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.FaultRelay;
import dev.sluice.testing.KubernetesApi;
import dev.sluice.testing.KubernetesApi.Pod;
import dev.sluice.testing.TestBackend;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /ready} of a Sluice whose clusters come from Kubernetes Services: 503 naming each cluster
 * still waiting for its first EndpointSlice listing (its requests would get 503 no_healthy_endpoint),
 * 200 once every one has it, and still 200 when a watch breaks later (the last endpoints serve).
 */
class KubernetesReadinessTest {
    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private static String yaml(Path kubeconfig) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                admin: { address: 127.0.0.1:0 }
                routes:
                  - match: { path_prefix: /gone/ }
                    cluster: gone
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    kubernetes: { service: web, port: http, kubeconfig: %1$s }
                  - name: gone
                    kubernetes: { service: not-there, port: http, kubeconfig: %1$s }
                """.formatted(kubeconfig);
    }

    private static HttpResponse<String> get(InetSocketAddress address, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + address.getPort() + path))
                .timeout(AWAIT).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readyWaitsForEveryClustersFirstListingAndStaysReadyWhenTheWatchBreaks() throws Exception {
        try (KubernetesApi api = KubernetesApi.start();
             FaultRelay relay = FaultRelay.start(api.address());
             TestBackend pod = TestBackend.builder().handler(BackendHandlers.fixed(200, "pod"))
                     .bindTo(new InetSocketAddress("127.0.0.81", 0)).start()) {
            api.service("shop", "web", Map.of("app", "web"), "http", 80, pod.port());
            api.slice("shop", "web-1", "web", "http", pod.port(), Pod.ready("web-0", "127.0.0.81"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, relay.address(), "shop");
            // The API server cannot be reached when Sluice starts: no listing can arrive.
            relay.refuse();
            try (InProcessSluice sluice = InProcessSluice.start(yaml(kubeconfig), dir, Duration.ofSeconds(1))) {
                AdminHttp.Answer waiting = sluice.admin().get("/ready");
                assertThat(waiting.status()).isEqualTo(503);
                assertThat(waiting.body()).isEqualTo("not ready: kubernetes cluster gone: waiting for its first "
                        + "EndpointSlice listing; kubernetes cluster web: waiting for its first EndpointSlice listing\n");
                HttpResponse<String> refused = get(sluice.listener(), "/");
                assertThat(refused.statusCode()).as("what the probe keeps traffic from").isEqualTo(503);
                assertThat(refused.headers().firstValue("x-sluice-error")).hasValue("no_healthy_endpoint");

                // The API is back: both listed, the missing Service too (a warning, not a wait).
                relay.accept();
                Await.until(AWAIT, () -> sluice.admin().get("/ready").status() == 200, "/ready 200 once listed");
                assertThat(sluice.admin().get("/ready").body()).isEqualTo("ready\n");
                HttpResponse<String> served = get(sluice.listener(), "/");
                assertThat(served.statusCode()).isEqualTo(200);
                assertThat(served.body()).isEqualTo("pod");

                // The watch breaks later: the last endpoints serve, so the replica stays ready.
                relay.refuse();
                relay.resetAllConnections();
                Await.until(AWAIT, () -> sluice.admin().get("/status").body().contains("\"reconnecting\""),
                        "the watch seen broken");
                assertThat(sluice.admin().get("/ready").status()).isEqualTo(200);
                assertThat(get(sluice.listener(), "/").body()).isEqualTo("pod");
                relay.accept();
            }
        }
    }

    @Test
    void aServiceThatDoesNotExistCountsAsListed() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service("shop", "web", Map.of("app", "web"), "http", 80, 8080);
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "shop");
            try (InProcessSluice sluice = InProcessSluice.start(yaml(kubeconfig), dir, Duration.ofSeconds(1))) {
                Await.until(AWAIT, () -> sluice.admin().get("/ready").status() == 200,
                        "/ready 200: a missing Service and a Service without slices are listed");
                assertThat(get(sluice.listener(), "/gone/x").headers().firstValue("x-sluice-error"))
                        .hasValue("no_healthy_endpoint");
            }
        }
    }
}
