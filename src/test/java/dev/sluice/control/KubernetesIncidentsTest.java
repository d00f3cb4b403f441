package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import dev.sluice.testing.KubernetesApi;
import dev.sluice.testing.KubernetesApi.Pod;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Problems with where Kubernetes clusters' endpoints come from, as incidents of a running Sluice. */
class KubernetesIncidentsTest {
    private static final Duration AWAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void twoServicesSharingAPodOpenAnIncidentNamingBothThatClosesWhenTheSelectorIsFixed() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service("shop", "website", Map.of("tier", "front"), "http", 80, 8080);
            api.service("shop", "elasticsearch", Map.of("app", "es"), "http", 9200, 9200);
            api.slice("shop", "website-1", "website", "http", 8080, Pod.ready("website-0", "127.0.0.71"),
                    Pod.ready("es-0", "127.0.0.72"));
            api.slice("shop", "elasticsearch-1", "elasticsearch", "http", 9200, Pod.ready("es-0", "127.0.0.72"));
            Path kubeconfig = KubernetesApi.kubeconfig(dir, api.address(), "shop");
            String yaml = """
                    listeners:
                      - address: 127.0.0.1:0
                    admin: { address: 127.0.0.1:0 }
                    incidents: { close_after: 1s }
                    routes:
                      - match: { path_prefix: /search/ }
                        cluster: search
                      - match: { path_prefix: / }
                        cluster: web
                    clusters:
                      - name: web
                        kubernetes: { service: website, kubeconfig: %1$s }
                      - name: search
                        kubernetes: { service: elasticsearch, kubeconfig: %1$s }
                    """.formatted(kubeconfig);
            try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, Duration.ofSeconds(1))) {
                JsonNode opened = Await.value(AWAIT, () -> sluice.admin().get("/incidents").json().path("open"),
                        open -> open.size() == 1, "an incident opened").get(0);
                assertThat(opened.path("cluster").asText()).isEqualTo("search");
                assertThat(opened.path("opened_because").asText())
                        .contains("shop/elasticsearch (cluster 'search')", "shop/website (cluster 'web')", "shop/es-0");

                api.slice("shop", "website-1", "website", "http", 8080, Pod.ready("website-0", "127.0.0.71"));
                Await.until(AWAIT, () -> sluice.admin().get("/incidents").json().path("open").isEmpty(),
                        "the incident closed once the Services share nothing");
                assertThat(sluice.admin().get("/incidents").json().path("recent").get(0).path("closed_how").asText())
                        .isEqualTo("the problem is gone");
            }
        }
    }
}
