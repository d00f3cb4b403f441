package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.KubernetesConfig.Port;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clusters[].kubernetes}: what it binds to, and mistakes reported where they are. */
class KubernetesConfigTest {
    @TempDir
    Path dir;

    private static String cluster(String lines) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                """ + lines;
    }

    private static KubernetesConfig bind(String lines) throws ConfigException {
        return ConfigLoader.parse(cluster(lines), "x.yaml").clusters().get(0).kubernetes().orElseThrow();
    }

    @Test
    void aServiceWithItsNamespacePortAndKubeconfig() throws Exception {
        Path kubeconfig = Files.writeString(dir.resolve("config"), "apiVersion: v1\n");
        KubernetesConfig k = bind("""
                    kubernetes: { service: web, namespace: shop, port: http, kubeconfig: %s, shared: true }
                """.formatted(kubeconfig));
        assertThat(k.service()).isEqualTo("web");
        assertThat(k.namespace()).contains("shop");
        assertThat(k.port()).contains(new Port.Named("http"));
        assertThat(k.kubeconfig()).contains(kubeconfig);
        assertThat(k.shared()).isTrue();
        assertThat(k.at()).isEqualTo("x.yaml:8:17");
        assertThat(ConfigLoader.parse(cluster("    kubernetes: { service: web }\n"), "x.yaml").clusters().get(0)
                .endpoints()).as("no endpoints of its own").isEmpty();
    }

    @Test
    void defaultsAreTheContextsNamespaceTheOnlyPortAndNotShared() throws Exception {
        KubernetesConfig k = bind("    kubernetes: { service: web }\n");
        assertThat(k.namespace()).isEmpty();
        assertThat(k.port()).isEmpty();
        assertThat(k.kubeconfig()).isEmpty();
        assertThat(k.shared()).isFalse();
    }

    @Test
    void aNumberIsTheServicesPort() throws Exception {
        assertThat(bind("    kubernetes: { service: web, port: 80 }\n").port()).contains(new Port.Numbered(80));
        assertThat(problems(cluster("    kubernetes: { service: web, port: 70000 }\n"))).containsExactly(
                "8:39: clusters[0].kubernetes.port: port 70000 is out of range 1-65535");
    }

    @Test
    void namesKubernetesWouldRefuseAreRefused() {
        assertThat(problems(cluster("    kubernetes: { service: Web_1, namespace: -shop, port: HTTP }\n"))).containsExactly(
                "8:28: clusters[0].kubernetes.service: 'Web_1' is not a Service's name: lower-case letters, digits "
                        + "and '-', starting with a letter",
                "8:46: clusters[0].kubernetes.namespace: '-shop' is not a namespace: lower-case letters, digits and '-'",
                "8:59: clusters[0].kubernetes.port: 'HTTP' is neither a port number nor a port's name (at most 15 "
                        + "lower-case letters, digits and '-', as the Service's ports[].name)");
    }

    @Test
    void theServiceIsRequiredAndUnknownKeysAreRefused() {
        assertThat(problems(cluster("    kubernetes: { namespace: shop, selector: web }\n")))
                .anySatisfy(p -> assertThat(p).startsWith("8:17: ").contains("'service'"))
                .anySatisfy(p -> assertThat(p).contains("selector"));
    }

    @Test
    void aKubeconfigMustBeAnAbsolutePathToAReadableFile() {
        assertThat(problems(cluster("    kubernetes: { service: web, kubeconfig: kube.yaml }\n"))).containsExactly(
                "8:45: clusters[0].kubernetes.kubeconfig: 'kube.yaml' must be an absolute path");
        assertThat(problems(cluster("    kubernetes: { service: web, kubeconfig: /nonexistent/kubeconfig }\n")))
                .singleElement().asString().contains("cannot read '/nonexistent/kubeconfig'");
    }

    @Test
    void endpointsSelectAppAndDnsRefreshAreRefusedBesideIt() {
        assertThat(problems(cluster("""
                    kubernetes: { service: web }
                    endpoints: [127.0.0.1:9001]
                    dns_refresh: 5s
                """))).containsExactly(
                "9:16: clusters[0].endpoints: a cluster with 'kubernetes' takes its endpoints from the Service's "
                        + "EndpointSlices; remove 'endpoints', or make it a cluster of its own",
                "10:18: clusters[0].dns_refresh: a cluster with 'kubernetes' follows its Service's EndpointSlices as "
                        + "they change (a watch, not a refresh); remove 'dns_refresh'");
    }

    @Test
    void twoClustersWatchingTheSameServiceMustBothSayShared() throws Exception {
        String twice = """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    kubernetes: { service: web, namespace: shop%s }
                  - name: canary
                    kubernetes: { service: web, namespace: shop, port: 8080%s }
                """;
        assertThat(problems(twice.formatted("", ""))).containsExactly(
                "10:17: clusters 'web' (at 8:17) and 'canary' both watch Service 'shop/web', so they send traffic to "
                        + "the same pods; say 'shared: true' in both 'kubernetes' blocks if that is meant");
        assertThat(problems(twice.formatted(", shared: true", ""))).hasSize(1);
        assertThat(ConfigLoader.parse(twice.formatted(", shared: true", ", shared: true"), "x.yaml").clusters())
                .hasSize(2);
    }

    @Test
    void aClusterNeedsEndpointsSelectAnAppOrKubernetes() {
        assertThat(problems(cluster("    load_balancer: round_robin\n"))).singleElement().asString()
                .contains("'kubernetes', to take them from a Service's EndpointSlices");
    }
}
