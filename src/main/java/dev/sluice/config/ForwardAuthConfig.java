package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A route's {@code forward_auth}: before a request is admitted, Sluice asks an auth service
 * (Traefik's ForwardAuth, nginx's {@code auth_request}, Envoy's {@code ext_authz} over HTTP). A
 * 2xx answer admits it; any other answer goes back to the client instead.
 *
 * @param service where the check goes: a cluster of the file, or the address of a {@code url}
 * @param target the path (and query) the check asks for
 * @param timeout how long the whole check may take, connect included
 * @param requestHeaders the client's fields copied onto the check; empty: all of its end-to-end fields
 * @param responseHeaders fields of a 2xx answer copied onto the forwarded request, lower case;
 *     the client's own fields of these names are removed either way, so a client cannot forge them
 */
public record ForwardAuthConfig(Service service, String target, Duration timeout,
                                Optional<List<String>> requestHeaders, List<String> responseHeaders) {

    /** 1 s: a check is a lookup the user waits for on every request. Envoy's 200 ms is tight for a
     * token introspection across the network; past a second the service is in trouble, and the
     * client is better told so (504 {@code auth_timeout}) than kept waiting. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

    public ForwardAuthConfig {
        requestHeaders = requestHeaders.map(List::copyOf);
        responseHeaders = List.copyOf(responseHeaders);
    }

    /** Where the check goes. */
    public sealed interface Service {
        /** The name of the cluster the checks go to: the named one, or one Sluice makes for a {@code url}. */
        String clusterName();
    }

    /** {@code cluster: NAME}: a cluster of the file, with its balancing, health checks and pools. */
    public record Cluster(String name) implements Service {
        @Override
        public String clusterName() {
            return name;
        }
    }

    /**
     * {@code url: http://host:port/path}: one address, for which Sluice makes a cluster of its own
     * with the defaults ({@link ClusterConfig#of}), named {@code forward_auth:host:port}.
     */
    public record Url(HostPort address) implements Service {
        public static final String CLUSTER_PREFIX = "forward_auth:";

        @Override
        public String clusterName() {
            return CLUSTER_PREFIX + address;
        }
    }
}
