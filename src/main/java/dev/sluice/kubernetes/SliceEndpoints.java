package dev.sluice.kubernetes;

import dev.sluice.config.KubernetesConfig.Port;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a Service's EndpointSlices say, as values: each address at the chosen port, and whether it
 * takes new requests. A pure function of the Service and its slices, called on every change.
 *
 * <p>The conditions (Kubernetes' EndpointSlice API, {@code discovery.k8s.io/v1}): {@code ready}
 * takes traffic; {@code terminating} (its pod is shutting down, {@code serving} or not) takes no new
 * request and finishes what it has; neither ready nor terminating (starting, or failing its
 * readiness probe) takes none for now but keeps its state for when it is ready again.
 */
final class SliceEndpoints {
    private SliceEndpoints() {}

    /** Where an address stands. */
    enum Condition {
        READY,
        /** Shutting down: drained. */
        TERMINATING,
        /** Not ready (yet, or for now): no new requests, its state kept. */
        NOT_READY
    }

    /**
     * One address of the Service at the chosen port.
     *
     * @param pod {@code namespace/name} of the pod it belongs to ({@code targetRef}), or its
     *     address when the slice names none: what the overlap check compares
     */
    record Address(String ip, int port, Condition condition, String pod) {
        /** {@code ip:port}, IPv6 in brackets: how the endpoint is named in logs, /status and metrics. */
        String hostPort() {
            return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port;
        }
    }

    /** What the slices say: the addresses, or why the config's port cannot be found on the Service. */
    sealed interface Reading {
        record Found(List<Address> addresses) implements Reading {}

        record NoSuchPort(String why) implements Reading {}

        record NoService() implements Reading {}
    }

    /** The port's name in the slices, for the config's {@code port} on {@code service}: a ServicePort's name, "" when unnamed. */
    static Optional<String> portName(Service service, Optional<Port> wanted, StringBuilder why) {
        List<ServicePort> ports = service.getSpec() == null || service.getSpec().getPorts() == null ? List.of()
                : service.getSpec().getPorts();
        if (wanted.isEmpty()) {
            if (ports.size() == 1) {
                return Optional.of(Objects.requireNonNullElse(ports.get(0).getName(), ""));
            }
            why.append("the Service has ").append(ports.size()).append(" ports (").append(describe(ports))
                    .append("); say which with 'port'");
            return Optional.empty();
        }
        for (ServicePort p : ports) {
            boolean matches = switch (wanted.get()) {
                case Port.Named named -> named.name().equals(p.getName());
                case Port.Numbered numbered -> p.getPort() != null && p.getPort() == numbered.number();
            };
            if (matches) {
                return Optional.of(Objects.requireNonNullElse(p.getName(), ""));
            }
        }
        why.append("the Service has no port ").append(wanted.get()).append(" (it has ").append(describe(ports))
                .append(")");
        return Optional.empty();
    }

    private static String describe(List<ServicePort> ports) {
        return ports.isEmpty() ? "none" : String.join(", ", ports.stream()
                .map(p -> (p.getName() == null || p.getName().isEmpty() ? "" : p.getName() + " ") + p.getPort())
                .toList());
    }

    /**
     * The addresses of {@code slices} at the port named {@code portName}, each once (an address in
     * two slices, as while a slice is split or merged, counts once, ready if either says so), in a
     * stable order (by pod, then address) so an unchanged set reads the same.
     */
    static List<Address> addresses(List<EndpointSlice> slices, String portName) {
        Map<String, Address> byAddress = new LinkedHashMap<>();
        for (EndpointSlice slice : slices) {
            // FQDN slices name hosts, not pods' addresses; Services made by Kubernetes have none.
            if (!"IPv4".equals(slice.getAddressType()) && !"IPv6".equals(slice.getAddressType())) {
                continue;
            }
            Integer port = portOf(slice, portName);
            if (port == null || slice.getEndpoints() == null) {
                continue;
            }
            for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint e : slice.getEndpoints()) {
                Condition condition = condition(e.getConditions());
                List<String> ips = e.getAddresses() == null ? List.of() : e.getAddresses();
                // The API says the addresses of one endpoint are fungible; the first is the one used.
                if (ips.isEmpty()) {
                    continue;
                }
                String ip = ips.get(0);
                Address address = new Address(ip, port, condition, podOf(e.getTargetRef(), slice, ip));
                byAddress.merge(address.hostPort(), address, (a, b) -> a.condition() == Condition.READY ? a : b);
            }
        }
        List<Address> sorted = new ArrayList<>(byAddress.values());
        sorted.sort(Comparator.comparing(Address::pod).thenComparing(Address::hostPort));
        return List.copyOf(sorted);
    }

    /** Every pod {@code slices} name ({@code namespace/name}, or the address when a slice names no pod), whatever its port or condition. */
    static java.util.Set<String> pods(List<EndpointSlice> slices) {
        java.util.Set<String> pods = new java.util.TreeSet<>();
        for (EndpointSlice slice : slices) {
            if (slice.getEndpoints() == null) {
                continue;
            }
            for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint e : slice.getEndpoints()) {
                if (e.getAddresses() != null && !e.getAddresses().isEmpty()) {
                    pods.add(podOf(e.getTargetRef(), slice, e.getAddresses().get(0)));
                }
            }
        }
        return pods;
    }

    private static Integer portOf(EndpointSlice slice, String portName) {
        if (slice.getPorts() == null) {
            return null;
        }
        for (EndpointPort p : slice.getPorts()) {
            if (portName.equals(Objects.requireNonNullElse(p.getName(), "")) && p.getPort() != null) {
                return p.getPort();
            }
        }
        return null;
    }

    /**
     * The API's rules: a nil {@code ready} is to be read as ready ("unknown, consumers should
     * interpret as ready"); {@code terminating} wins over {@code ready}, which a terminating
     * endpoint never is anyway.
     */
    static Condition condition(EndpointConditions conditions) {
        if (conditions == null) {
            return Condition.READY;
        }
        if (Boolean.TRUE.equals(conditions.getTerminating())) {
            return Condition.TERMINATING;
        }
        return conditions.getReady() == null || conditions.getReady() ? Condition.READY : Condition.NOT_READY;
    }

    private static String podOf(ObjectReference ref, EndpointSlice slice, String ip) {
        if (ref != null && "Pod".equals(ref.getKind()) && ref.getName() != null) {
            String ns = ref.getNamespace() != null ? ref.getNamespace()
                    : slice.getMetadata() == null ? null : slice.getMetadata().getNamespace();
            return (ns == null ? "" : ns + "/") + ref.getName();
        }
        return ip;
    }
}
