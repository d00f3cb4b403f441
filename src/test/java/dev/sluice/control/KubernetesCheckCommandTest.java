package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import dev.sluice.testing.KubernetesApi;
import dev.sluice.testing.KubernetesApi.Pod;
import dev.sluice.testing.Ports;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code sluice check} on a config whose clusters come from Kubernetes: the live Services are asked when reachable. */
class KubernetesCheckCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private Run check(String yaml) throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, yaml);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("check", "-c", file.toString());
        return new Run(exit, out.toString(), err.toString().replace(file.toString(), "sluice.yaml"));
    }

    private static String config(Path kubeconfig) {
        return """
                listeners:
                  - address: 0.0.0.0:8080
                routes:
                  - match: { path_prefix: /search/ }
                    cluster: search
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    kubernetes: { service: website, namespace: shop, kubeconfig: %1$s }
                  - name: search
                    kubernetes: { service: elasticsearch, namespace: shop, kubeconfig: %1$s }
                """.formatted(kubeconfig);
    }

    @Test
    void twoServicesSelectingTheSamePodAreAnErrorNamingBothServicesAndThePods() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service("shop", "website", Map.of("tier", "front"), "http", 80, 8080);
            api.service("shop", "elasticsearch", Map.of("app", "es"), "http", 9200, 9200);
            api.slice("shop", "website-1", "website", "http", 8080, Pod.ready("website-0", "10.1.0.5"),
                    Pod.ready("es-0", "10.1.0.9"), Pod.ready("es-1", "10.1.0.10"));
            api.slice("shop", "elasticsearch-1", "elasticsearch", "http", 9200, Pod.ready("es-0", "10.1.0.9"),
                    Pod.ready("es-1", "10.1.0.10"));
            Run run = check(config(KubernetesApi.kubeconfig(dir, api.address(), "default")));

            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sluice.yaml:12:17: Services shop/website (cluster 'web') and "
                    + "shop/elasticsearch (cluster 'search') select the same 2 pods: shop/es-0, shop/es-1; traffic for "
                    + "one reaches the other's pods. Fix the selectors, or say 'shared: true' in both clusters' "
                    + "'kubernetes' if that is meant\nsluice.yaml: 1 error(s)\n");
            assertThat(run.out()).isEmpty();
        }
    }

    @Test
    void aMissingServiceIsAWarning() throws Exception {
        try (KubernetesApi api = KubernetesApi.start()) {
            api.service("shop", "website", Map.of("tier", "front"), "http", 80, 8080);
            Run run = check(config(KubernetesApi.kubeconfig(dir, api.address(), "default")));

            assertThat(run.exit()).isZero();
            assertThat(run.err()).isEqualTo("sluice.yaml:12:17: warning: cluster 'search': Service shop/elasticsearch "
                    + "does not exist; Sluice starts without its endpoints and takes them when it does\n");
            assertThat(run.out()).contains("ok (1 listeners, 2 routes, 2 clusters); 1 warning");
        }
    }

    @Test
    void anUnreachableApiIsAWarningNotAnError() throws Exception {
        InetSocketAddress nobody = new InetSocketAddress("127.0.0.1", Ports.freeLoopbackPort());
        Run run = check(config(KubernetesApi.kubeconfig(dir, nobody, "default")));

        assertThat(run.exit()).isZero();
        assertThat(run.err()).contains("sluice.yaml:10:17: warning: cluster 'web': cannot reach the Kubernetes API at "
                + "http://127.0.0.1:" + nobody.getPort() + "/").contains("were not checked");
    }
}
