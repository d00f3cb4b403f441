package dev.sluice.upstream;

import dev.sluice.config.ClusterConfig;
import dev.sluice.resilience.RetryBudget;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A cluster at run time: its settings, its endpoints, the load balancer and the retry budget. */
public final class Cluster {
    /** 50%: passive ejection may take out half a cluster, never more (at least one endpoint). */
    static final double MAX_EJECTED_SHARE = 0.5;

    private final ClusterConfig config;
    private final List<Endpoint> endpoints;
    private final RetryBudget retryBudget;
    private final AtomicInteger next = new AtomicInteger();

    public Cluster(ClusterConfig config, List<Endpoint> endpoints, long nowNanos) {
        this.config = config;
        this.endpoints = List.copyOf(endpoints);
        this.retryBudget = RetryBudget.defaults(nowNanos);
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

    public RetryBudget retryBudget() {
        return retryBudget;
    }

    /**
     * Round robin over endpoints not ejected and not yet tried by this request. When every
     * untried endpoint is ejected, ejection is ignored (panic mode: better to try a suspect
     * endpoint than to fail the request). Returns null when every endpoint was tried.
     *
     * @param triedMask bit i set when endpoints.get(i) was tried (clusters beyond 64 endpoints
     *     wrap, which only means a retry may revisit one)
     */
    public Endpoint pick(long triedMask, long now) {
        Endpoint fallback = null;
        int n = endpoints.size();
        int start = Math.floorMod(next.getAndIncrement(), n);
        for (int i = 0; i < n; i++) {
            int index = (start + i) % n;
            if ((triedMask & bit(index)) != 0) {
                continue;
            }
            Endpoint e = endpoints.get(index);
            if (!e.isEjected(now)) {
                return e;
            }
            if (fallback == null) {
                fallback = e;
            }
        }
        return fallback;
    }

    /** True when every endpoint is ejected, so requests go to all of them anyway. */
    public boolean panicking(long now) {
        return endpoints.stream().allMatch(e -> e.isEjected(now));
    }

    /** Whether one more endpoint may be ejected without passing the cluster's ejection cap. */
    public boolean mayEject(long now) {
        long ejected = endpoints.stream().filter(e -> e.isEjected(now)).count();
        return ejected < Math.max(1, (long) Math.floor(endpoints.size() * MAX_EJECTED_SHARE));
    }

    public long bitOf(Endpoint endpoint) {
        return bit(endpoints.indexOf(endpoint));
    }

    public int size() {
        return endpoints.size();
    }

    private static long bit(int index) {
        return 1L << (index & 63);
    }
}
