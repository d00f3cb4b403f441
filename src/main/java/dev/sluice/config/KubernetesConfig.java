package dev.sluice.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A cluster whose endpoints come from a Kubernetes Service ({@code clusters[].kubernetes}): the
 * ready endpoints of the Service's EndpointSlices, kept current by a watch.
 *
 * @param service the Service's name
 * @param namespace its namespace; empty for the namespace of the kubeconfig's context, or of the
 *     service account Sluice runs as in a pod
 * @param port which of the Service's ports: by name or by the Service's port number; empty for
 *     the Service's only port
 * @param kubeconfig the kubeconfig file to reach the API server with; empty for the usual places
 *     ({@code KUBECONFIG}, {@code ~/.kube/config}, or the pod's service account)
 * @param shared true when this cluster may send traffic to pods another cluster's Service also
 *     selects, and that cluster says {@code shared: true} too; otherwise that is the overlapping-
 *     selectors incident, reported with both Services and the pods they share
 * @param at where the {@code kubernetes:} key was written ({@code file:line:col}), for the reports
 *     of {@code sluice check}; not part of what the watch is (see {@link #sameService})
 */
public record KubernetesConfig(String service, Optional<String> namespace, Optional<Port> port,
                               Optional<Path> kubeconfig, boolean shared, String at) {

    public KubernetesConfig {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(at, "at");
    }

    /** A Service's port as the config names it. */
    public sealed interface Port {
        /** {@code port: http}: the Service's port of that name. */
        record Named(String name) implements Port {
            @Override
            public String toString() {
                return name;
            }
        }

        /** {@code port: 80}: the Service's port with that number (not the pods' target port). */
        record Numbered(int number) implements Port {
            @Override
            public String toString() {
                return Integer.toString(number);
            }
        }
    }

    /** Whether {@code other} watches the same Service's port through the same API server (so a reload keeps the watch). */
    public boolean sameService(KubernetesConfig other) {
        return other != null && service.equals(other.service) && namespace.equals(other.namespace)
                && port.equals(other.port) && kubeconfig.equals(other.kubeconfig);
    }

    /** {@code namespace/service}, or {@code service} when the namespace comes from the context. */
    public String describe() {
        return namespace.map(ns -> ns + "/" + service).orElse(service);
    }
}
