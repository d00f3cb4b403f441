package dev.sluice.kubernetes;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.KubernetesConfig;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code sluice check} asks a reachable Kubernetes API: whether each cluster's Service
 * exists, and whether two clusters' Services select the same pods (the overlapping-selectors
 * incident, an error unless both say {@code shared: true}). One listing each, no watch; an API
 * that cannot be reached makes the check a warning, since the config itself may well be right.
 */
public final class KubernetesCheck {
    /** 5 s: an API server answers a get in milliseconds; one that does not is not checked, and said so. */
    public static final Duration TIMEOUT = Duration.ofSeconds(5);

    private KubernetesCheck() {}

    /** Errors and warnings, each {@code file:line:col: message} at the cluster's {@code kubernetes:}. */
    public record Report(List<String> errors, List<String> warnings) {}

    /** The check with clients that give up after {@link #TIMEOUT}, without retrying. */
    public static Report run(List<ClusterConfig> clusters) {
        return run(clusters, kubeconfig -> {
            Config config = KubernetesDiscovery.Clients.config(kubeconfig);
            int millis = (int) TIMEOUT.toMillis();
            return new KubernetesClientBuilder().withConfig(new ConfigBuilder(config).withRequestTimeout(millis)
                    .withConnectionTimeout(millis).withRequestRetryBackoffLimit(0).build()).build();
        });
    }

    static Report run(List<ClusterConfig> clusters, KubernetesDiscovery.Clients clients) {
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Map<Optional<Path>, KubernetesClient> open = new HashMap<>();
        Map<String, String> at = new HashMap<>();
        List<Overlaps.Member> members = new ArrayList<>();
        try {
            for (ClusterConfig cluster : clusters) {
                if (cluster.kubernetes().isEmpty()) {
                    continue;
                }
                KubernetesConfig k = cluster.kubernetes().get();
                at.put(cluster.name(), k.at());
                KubernetesClient client = open.computeIfAbsent(k.kubeconfig(), clients::open);
                String namespace = ServiceWatch.namespaceOf(k, client);
                String service = namespace + "/" + k.service();
                try {
                    Service found = client.services().inNamespace(namespace).withName(k.service()).get();
                    if (found == null) {
                        warnings.add(k.at() + ": warning: cluster '" + cluster.name() + "': Service " + service
                                + " does not exist; Sluice starts without its endpoints and takes them when it does");
                        continue;
                    }
                    StringBuilder why = new StringBuilder();
                    if (SliceEndpoints.portName(found, k.port(), why).isEmpty()) {
                        warnings.add(k.at() + ": warning: cluster '" + cluster.name() + "': Service " + service + ": "
                                + why + "; the cluster would have no endpoints");
                    }
                    List<EndpointSlice> slices = client.discovery().v1().endpointSlices().inNamespace(namespace)
                            .withLabel(ServiceWatch.SERVICE_NAME_LABEL, k.service()).list().getItems();
                    members.add(new Overlaps.Member(cluster.name(), service, k.shared(), SliceEndpoints.pods(slices)));
                } catch (RuntimeException e) {
                    warnings.add(k.at() + ": warning: cluster '" + cluster.name() + "': cannot reach the Kubernetes API "
                            + "at " + client.getMasterUrl() + " (" + ServiceWatch.describe(e) + "), so Service "
                            + service + " and the pods it shares with other Services were not checked");
                }
            }
        } finally {
            open.values().forEach(KubernetesClient::close);
        }
        for (Overlaps.Overlap o : Overlaps.find(members)) {
            errors.add(at.get(o.otherCluster()) + ": " + o.describe());
        }
        return new Report(errors, warnings);
    }
}
