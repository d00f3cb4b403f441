package dev.sluice.kubernetes;

import dev.sluice.config.KubernetesConfig;
import dev.sluice.kubernetes.SliceEndpoints.Reading;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The watch of one cluster's Service: two informers (fabric8's list-then-watch loop, each
 * keeping its last listing in a cache), one on the Service (its ports, and whether it exists),
 * one on its EndpointSlices (label {@code kubernetes.io/service-name}). Any event asks for the
 * cluster's endpoints to be read again from both caches ({@code onChange}, handed to the
 * discovery's thread); nothing here changes a cluster.
 *
 * <p>A broken watch is fabric8's to mend: the watch reconnects with exponential backoff from
 * the last resourceVersion it saw, and a failed listing is retried the same way (the exception
 * handler below says retry, always, also before the first listing succeeded). Meanwhile the
 * caches keep what they last had, so the cluster keeps its endpoints: a watch that failed is
 * never read as a Service with no pods.
 */
final class ServiceWatch {
    /** The label Kubernetes puts on every EndpointSlice of a Service, with the Service's name. */
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    final String cluster;
    final String namespace;
    /** Replaced by a reload that keeps the watch (only {@code shared} or where it was written can differ). */
    volatile KubernetesConfig config;
    private final SharedIndexInformer<Service> services;
    private final SharedIndexInformer<EndpointSlice> slices;
    private final CompletableFuture<Void> firstListing;
    /** The API server's URL, for the log. */
    final String api;
    /** The last failure fabric8 reported (listing or watch), for the log and /status; null after a success. */
    volatile String error;

    ServiceWatch(String cluster, KubernetesConfig config, KubernetesClient client, Runnable onChange) {
        this.cluster = cluster;
        this.config = config;
        this.namespace = namespaceOf(config, client);
        this.api = String.valueOf(client.getMasterUrl());
        ResourceEventHandler<Object> changed = new ResourceEventHandler<>() {
            @Override
            public void onAdd(Object obj) {
                onChange.run();
            }

            @Override
            public void onUpdate(Object oldObj, Object newObj) {
                onChange.run();
            }

            @Override
            public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
                onChange.run();
            }

            @Override
            public void onNothing() {
                // A listing that found nothing (no Service, no slices yet): still an answer to read.
                onChange.run();
            }
        };
        this.services = client.services().inNamespace(namespace).withName(config.service()).runnableInformer(0);
        this.slices = client.discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabel(SERVICE_NAME_LABEL, config.service()).runnableInformer(0);
        for (SharedIndexInformer<?> informer : List.of(services, slices)) {
            @SuppressWarnings("unchecked")
            SharedIndexInformer<Object> any = (SharedIndexInformer<Object>) informer;
            any.addEventHandler(changed);
            // Retry always, also when the first listing fails (fabric8 gives up then by default):
            // an API server that is down at Sluice's start comes back, and the watch with it.
            any.exceptionHandler((started, failure) -> {
                error = describe(failure);
                onChange.run();
                return true;
            });
        }
        this.firstListing = CompletableFuture.allOf(services.start().toCompletableFuture(),
                slices.start().toCompletableFuture()).whenComplete((v, t) -> {
                    if (t == null) {
                        onChange.run();
                    }
                });
    }

    /** The config's namespace, else the client's (the kubeconfig context's, or the pod's service account's), else {@code default}. */
    static String namespaceOf(KubernetesConfig config, KubernetesClient client) {
        return config.namespace().orElseGet(() -> Optional.ofNullable(client.getNamespace()).orElse("default"));
    }

    /** Completes when both caches have their first listing. */
    CompletableFuture<Void> firstListing() {
        return firstListing;
    }

    /** Both caches have been filled at least once: what they say is an answer, not a start. */
    boolean listed() {
        return services.hasSynced() && slices.hasSynced();
    }

    /** Both watches are open now. */
    boolean watching() {
        return services.isWatching() && slices.isWatching();
    }

    /** The last resourceVersion of the slices the watch saw: where it resumes from. */
    String resourceVersion() {
        return slices.lastSyncResourceVersion();
    }

    /** {@code namespace/service}. */
    String service() {
        return namespace + "/" + config.service();
    }

    /** What the caches say now. Only meaningful once {@link #listed()}. */
    Reading read() {
        List<Service> found = services.getStore().list();
        if (found.isEmpty()) {
            return new Reading.NoService();
        }
        StringBuilder why = new StringBuilder();
        Optional<String> port = SliceEndpoints.portName(found.get(0), config.port(), why);
        if (port.isEmpty()) {
            return new Reading.NoSuchPort(why.toString());
        }
        return new Reading.Found(SliceEndpoints.addresses(slices.getStore().list(), port.get()));
    }

    /** Every pod the Service's slices name, at any port: what two Services must not share. */
    Set<String> pods() {
        return SliceEndpoints.pods(slices.getStore().list());
    }

    /** Stops both informers; completes once both watches are closed. */
    CompletableFuture<Void> stop() {
        services.stop();
        slices.stop();
        return CompletableFuture.allOf(services.stopped().toCompletableFuture(),
                slices.stopped().toCompletableFuture()).exceptionally(t -> null);
    }

    static String describe(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public String toString() {
        return "cluster " + cluster + " (Service " + service() + ")";
    }
}
