package dev.sluice.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.ConfigLoader;
import dev.sluice.testing.Await;
import dev.sluice.testing.KubernetesApi;
import dev.sluice.testing.KubernetesApi.Pod;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link KubernetesDiscovery#track} promises the start and a reload that wait for it: once it
 * completes, a new watch's first listing is in its cluster, not only listed (a Sluice that served
 * before its first reading was applied answered {@code 503 no_healthy_endpoint} meanwhile).
 */
class KubernetesDiscoveryTest {
    @TempDir
    Path dir;

    private static Cluster cluster(Path kubeconfig, String service) throws Exception {
        // One cluster as a user writes it (the config is only parsed: no gateway, no listener).
        ClusterConfig config = ConfigLoader.parse("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    kubernetes: { service: %s, namespace: shop, port: http, kubeconfig: %s }
                """.formatted(service, kubeconfig), "<test>").clusters().getFirst();
        return new Cluster(config, List.of(), System.nanoTime());
    }

    private static List<String> addresses(Cluster cluster) {
        return cluster.endpoints().stream().map(Endpoint::address).toList();
    }

    @Test
    void trackCompletesWithTheFirstListingAlreadyInTheClusterAndRewritesKeepWhatStays() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service("shop", "web", Map.of("app", "web"), "http", 80, 8080);
            api.slice("shop", "web-1", "web", "http", 8080, Pod.ready("web-0", "127.0.0.81"),
                    Pod.ready("web-1", "127.0.0.82"), Pod.starting("web-2", "127.0.0.83"));
            Cluster web = cluster(KubernetesApi.kubeconfig(dir, api.address(), "shop"), "web");
            List<Endpoint> drained = new CopyOnWriteArrayList<>();
            try (KubernetesDiscovery discovery = new KubernetesDiscovery(() -> Map.of("web", web),
                    (cluster, removed) -> drained.addAll(removed), System::nanoTime,
                    KubernetesDiscovery.Clients.standard())) {
                discovery.track(Map.of("web", web)).get(20, TimeUnit.SECONDS);

                // No waiting here: this is what a start that waited for track serves its first request with.
                assertThat(addresses(web)).as("the ready pods, as track completes")
                        .containsExactly("127.0.0.81:8080", "127.0.0.82:8080");
                assertThat(discovery.standing("web")).hasValueSatisfying(s -> {
                    assertThat(s.service()).isEqualTo("found");
                    assertThat(s.ready()).isEqualTo(2);
                    assertThat(s.notReady()).isEqualTo(1);
                });
                Endpoint stays = web.endpoints().getFirst();
                Endpoint leaves = web.endpoints().get(1);

                // The slice rewritten: one pod terminating, the starting one ready.
                api.slice("shop", "web-1", "web", "http", 8080, Pod.ready("web-0", "127.0.0.81"),
                        Pod.terminating("web-1", "127.0.0.82"), Pod.ready("web-2", "127.0.0.83"));
                Await.until(Duration.ofSeconds(20), () -> addresses(web).equals(List.of("127.0.0.81:8080",
                        "127.0.0.83:8080")), () -> "the rewrite read; endpoints " + addresses(web));
                assertThat(web.endpoints().getFirst()).as("the pod that stays keeps its endpoint").isSameAs(stays);
                // Handed to the one path that drains (Upstreams.endpointsChanged), only that one.
                Await.until(Duration.ofSeconds(20), () -> drained.contains(leaves), "the terminating pod to drain");
                assertThat(drained).containsExactly(leaves);
            }
        }
    }

    @Test
    void aMissingServiceIsReadAsSuchByTheTimeTrackCompletes() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            Cluster web = cluster(KubernetesApi.kubeconfig(dir, api.address(), "shop"), "web");
            try (KubernetesDiscovery discovery = new KubernetesDiscovery(() -> Map.of("web", web),
                    (cluster, removed) -> {}, System::nanoTime, KubernetesDiscovery.Clients.standard())) {
                discovery.track(Map.of("web", web)).get(20, TimeUnit.SECONDS);

                assertThat(discovery.standing("web")).hasValueSatisfying(s ->
                        assertThat(s.service()).as("an answer, not 'unknown'").isEqualTo("missing"));
                assertThat(web.endpoints()).isEmpty();

                api.service("shop", "web", Map.of("app", "web"), "http", 80, 8080);
                api.slice("shop", "web-1", "web", "http", 8080, Pod.ready("web-0", "127.0.0.81"));
                Await.until(Duration.ofSeconds(20), () -> addresses(web).equals(List.of("127.0.0.81:8080")),
                        "the endpoints, once the Service exists");
            }
        }
    }
}
