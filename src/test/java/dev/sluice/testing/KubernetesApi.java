package dev.sluice.testing;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * A Kubernetes API server for tests: fabric8's mock server in CRUD mode, on a real socket, which
 * stores what is written to it (Services, EndpointSlices, with resourceVersions) and serves
 * lists and watches of the real API types. The test writes through {@link #client()} as the
 * EndpointSlice controller would; Sluice reads through a kubeconfig file ({@link #kubeconfig}).
 */
public final class KubernetesApi implements AutoCloseable {
    private final KubernetesMockServer server;
    private final NamespacedKubernetesClient client;

    private KubernetesApi(KubernetesMockServer server) {
        this.server = server;
        this.client = server.createClient();
    }

    public static KubernetesApi start() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(new Context(Serialization.jsonMapper()),
                new MockWebServer(), responses, new KubernetesMixedDispatcher(responses), false);
        try {
            server.init(InetAddress.getByName("127.0.0.1"), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new KubernetesApi(server);
    }

    /** Where the API server listens. */
    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.getPort());
    }

    /** A client of the API server, for the test's own writes. */
    public NamespacedKubernetesClient client() {
        return client;
    }

    /** A kubeconfig file in {@code dir} whose context reaches the API server at {@code api} (this one, or a relay to it), in {@code namespace}. */
    public static Path kubeconfig(Path dir, InetSocketAddress api, String namespace) {
        String text = """
                apiVersion: v1
                kind: Config
                clusters:
                  - name: test
                    cluster:
                      server: http://%s:%d
                contexts:
                  - name: test
                    context: { cluster: test, user: test, namespace: %s }
                current-context: test
                users:
                  - name: test
                    user: { token: test-token }
                """.formatted(api.getHostString(), api.getPort(), namespace);
        try {
            Path file = dir.resolve("kubeconfig-" + api.getPort());
            Files.writeString(file, text);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A Service named {@code name} with one port {@code portName}/{@code port} to the pods' {@code targetPort}. */
    public Service service(String namespace, String name, Map<String, String> selector, String portName, int port,
                           int targetPort) {
        return client.services().inNamespace(namespace).resource(new ServiceBuilder()
                .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
                .withNewSpec().withSelector(selector).withPorts(new ServicePortBuilder().withName(portName)
                        .withPort(port).withTargetPort(new IntOrString(targetPort)).withProtocol("TCP").build())
                .endSpec().build()).create();
    }

    /** One pod's endpoint in a slice, with the conditions the EndpointSlice controller writes. */
    public record Pod(String name, String ip, boolean ready, boolean serving, boolean terminating) {
        public static Pod ready(String name, String ip) {
            return new Pod(name, ip, true, true, false);
        }

        /** Started, not yet passing its readiness probe. */
        public static Pod starting(String name, String ip) {
            return new Pod(name, ip, false, false, false);
        }

        /** Deleted, still shutting down: serving what it has, taking nothing new. */
        public static Pod terminating(String name, String ip) {
            return new Pod(name, ip, false, true, true);
        }

        Endpoint toEndpoint(String namespace) {
            return new EndpointBuilder().withAddresses(ip)
                    .withNewConditions().withReady(ready).withServing(serving).withTerminating(terminating).endConditions()
                    .withTargetRef(new ObjectReferenceBuilder().withKind("Pod").withNamespace(namespace).withName(name)
                            .build())
                    .build();
        }
    }

    /** Creates or replaces the EndpointSlice {@code slice} of Service {@code service}: its port and pods. */
    public EndpointSlice slice(String namespace, String slice, String service, String portName, int port,
                               Pod... pods) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (Pod pod : pods) {
            endpoints.add(pod.toEndpoint(namespace));
        }
        EndpointSlice value = new EndpointSliceBuilder()
                .withNewMetadata().withName(slice).withNamespace(namespace)
                .addToLabels("kubernetes.io/service-name", service).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName(portName).withPort(port).withProtocol("TCP").endPort()
                .withEndpoints(endpoints)
                .build();
        return client.discovery().v1().endpointSlices().inNamespace(namespace).resource(value).createOr(
                existing -> existing.update());
    }

    /** Deletes the slice, as the controller does when a Service loses its last pod in it. */
    public void deleteSlice(String namespace, String slice) {
        client.discovery().v1().endpointSlices().inNamespace(namespace).withName(slice).delete();
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
