package dev.sluice.upstream;

import dev.sluice.config.ClusterConfig;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A cluster at run time: its settings, its endpoints and the load balancer over them. */
public final class Cluster {
    private final ClusterConfig config;
    private final List<Endpoint> endpoints;
    private final AtomicInteger next = new AtomicInteger();

    public Cluster(ClusterConfig config, List<Endpoint> endpoints) {
        this.config = config;
        this.endpoints = List.copyOf(endpoints);
    }

    public String name() {
        return config.name();
    }

    public ClusterConfig config() {
        return config;
    }

    public List<Endpoint> endpoints() {
        return endpoints;
    }

    /**
     * Round robin, skipping endpoints this request already tried. Returns null when every
     * endpoint was tried.
     *
     * @param triedMask bit i set when endpoints.get(i) was tried (clusters beyond 64 endpoints
     *     wrap, which only means a retry may revisit one)
     */
    public Endpoint pick(long triedMask) {
        int n = endpoints.size();
        int start = Math.floorMod(next.getAndIncrement(), n);
        for (int i = 0; i < n; i++) {
            int index = (start + i) % n;
            if ((triedMask & bit(index)) == 0) {
                return endpoints.get(index);
            }
        }
        return null;
    }

    public long bitOf(Endpoint endpoint) {
        return bit(endpoints.indexOf(endpoint));
    }

    private static long bit(int index) {
        return 1L << (index & 63);
    }
}
