package dev.sluice.upstream;

import dev.sluice.config.ClusterConfig;
import dev.sluice.resilience.ConcurrencyGate;
import dev.sluice.resilience.RetryBudget;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/** A cluster at run time: its settings, its endpoints, the load balancer and the retry budget. */
public final class Cluster {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Cluster.class);
    /** 50%: passive ejection may take out half a cluster, never more (at least one endpoint). */
    static final double MAX_EJECTED_SHARE = 0.5;
    /**
     * The default random source. Every event loop picks from the same cluster, so each draw goes
     * to the calling thread's own {@link ThreadLocalRandom}: no state shared between loops. A
     * field cannot hold {@code ThreadLocalRandom.current()} itself, which is only valid on the
     * thread that called it.
     */
    private static final RandomGenerator PER_THREAD_RANDOM = new RandomGenerator() {
        @Override
        public long nextLong() {
            return ThreadLocalRandom.current().nextLong();
        }

        @Override
        public int nextInt(int bound) {
            return ThreadLocalRandom.current().nextInt(bound);
        }

        @Override
        public double nextDouble(double bound) {
            return ThreadLocalRandom.current().nextDouble(bound);
        }
    };

    private final ClusterConfig config;
    /** The endpoints and what stickiness knows of them; replaced whole when a name resolves differently. */
    private volatile Members members;
    private final RetryBudget retryBudget;
    private final long slowStartNanos;
    /** Draws for least request's two choices and weighted picks; called from every event loop. */
    private final RandomGenerator random;
    private final AtomicInteger next = new AtomicInteger();
    private final ConcurrencyGate gate;
    /** The client context of {@code clusters[].tls}; null for cleartext. */
    private final UpstreamTls tls;
    /** Last panic state seen by a first pick; only for saying so once in the log. */
    private volatile boolean inPanic;

    /** One set of the cluster's endpoints, in order, with the sticky index built for exactly that set. */
    private record Members(Endpoint[] array, List<Endpoint> list, StickyIndex sticky) {
        static Members of(ClusterConfig config, List<Endpoint> endpoints) {
            Endpoint[] array = endpoints.toArray(Endpoint[]::new);
            StickyIndex sticky = config.sticky().map(s -> StickyIndex.of(config.name(), s, array)).orElse(StickyIndex.NONE);
            return new Members(array, List.copyOf(endpoints), sticky);
        }
    }

    public Cluster(ClusterConfig config, List<Endpoint> endpoints, long nowNanos) {
        this(config, endpoints, nowNanos, PER_THREAD_RANDOM);
    }

    /** A cluster that keeps {@code gate} (see the five-argument constructor). */
    public Cluster(ClusterConfig config, List<Endpoint> endpoints, long nowNanos, ConcurrencyGate gate) {
        this(config, endpoints, nowNanos, PER_THREAD_RANDOM, gate);
    }

    /**
     * A cluster whose load balancer draws from {@code random} (tests pass a seeded one). It is
     * called from every event loop that picks, so it must be safe to share between threads.
     */
    public Cluster(ClusterConfig config, List<Endpoint> endpoints, long nowNanos, RandomGenerator random) {
        this(config, endpoints, nowNanos, random, new ConcurrencyGate(config.concurrency()));
    }

    /**
     * A cluster that keeps {@code gate}: a reload that leaves the cluster's concurrency settings
     * as they were keeps the limit it learned and the requests it counts.
     */
    public Cluster(ClusterConfig config, List<Endpoint> endpoints, long nowNanos, RandomGenerator random,
                   ConcurrencyGate gate) {
        this.config = config;
        this.gate = gate;
        this.random = random;
        this.members = Members.of(config, endpoints);
        this.retryBudget = RetryBudget.defaults(nowNanos);
        this.slowStartNanos = config.slowStart().toNanos();
        this.tls = config.tls().map(t -> UpstreamTls.of(t, config.protocol() == ClusterConfig.Protocol.H2)).orElse(null);
    }

    /** TLS to the endpoints, or null for cleartext. */
    public UpstreamTls tls() {
        return tls;
    }

    public String name() {
        return config.name();
    }

    public ClusterConfig config() {
        return config;
    }

    /** The endpoints now; a hostname endpoint's set follows its name's answers (see {@link #replaceEndpoints}). */
    public List<Endpoint> endpoints() {
        return members.list();
    }

    /**
     * Makes {@code endpoints} the cluster's set, as one write: a pick sees the old set or the new,
     * never a mix. Requests already on their way keep the endpoint they picked (a retry's tried
     * endpoints are remembered by position, so one may be revisited once after the change).
     */
    public void replaceEndpoints(List<Endpoint> endpoints) {
        members = Members.of(config, endpoints);
    }

    /** How many requests the cluster takes at once, and the queue for the rest. */
    public ConcurrencyGate concurrency() {
        return gate;
    }

    public RetryBudget retryBudget() {
        return retryBudget;
    }

    public int size() {
        return members.array().length;
    }

    /** {@link #pick(long, long, Affinity)} for a request without affinity: the load balancer decides. */
    public Endpoint pick(long triedMask, long now) {
        return pick(triedMask, now, Affinity.NONE);
    }

    /**
     * Picks an endpoint this request has not tried yet, among those healthy and not ejected: the
     * one its {@code affinity} names when that one can take it (a sticky cluster), else as the
     * cluster's load balancer picks. When none is, picks among the unhealthy and ejected too
     * (panic mode: better a suspect endpoint than failing every request); endpoints still pending
     * their first health check or answering as another service are never picked. Returns null
     * when nothing can be picked.
     *
     * @param triedMask bit i set when endpoint i was tried (clusters beyond 64 endpoints wrap,
     *     which only means a retry may revisit one)
     */
    public Endpoint pick(long triedMask, long now, Affinity affinity) {
        Members m = members;
        Endpoint e = pick(m, triedMask, now, false, affinity);
        if (e == null) {
            e = pick(m, triedMask, now, true, affinity);
            if (e != null && triedMask == 0 && !inPanic) {
                inPanic = true;
                LOG.warn("cluster {}: no healthy endpoint left; routing to unhealthy and ejected ones (panic mode)",
                        name());
            }
        } else if (triedMask == 0 && inPanic) {
            // Only first picks change the state: a retry finding nothing new says nothing.
            inPanic = false;
            LOG.warn("cluster {}: healthy endpoints are back; panic mode ended", name());
        }
        return e;
    }

    private Endpoint pick(Members m, long triedMask, long now, boolean panic, Affinity affinity) {
        Endpoint[] endpoints = m.array();
        if (affinity != Affinity.NONE) {
            int sticky = m.sticky().pick(affinity, i -> eligible(endpoints, i, triedMask, now, panic));
            if (sticky >= 0) {
                return endpoints[sticky];
            }
        }
        return switch (config.loadBalancer()) {
            case ROUND_ROBIN -> roundRobin(endpoints, triedMask, now, panic);
            case LEAST_REQUEST -> leastRequest(endpoints, triedMask, now, panic);
            case WEIGHTED -> weightedRandom(endpoints, triedMask, now, panic);
        };
    }

    /**
     * The {@code Set-Cookie} value that keeps this client on {@code served}, the endpoint that
     * answered: null unless the cluster sticks by cookie and the request's cookie named another
     * endpoint, or none (its first request, or its endpoint could not take it).
     */
    public String stickyCookie(Endpoint served, Affinity affinity) {
        Members m = members;
        if (m.sticky() == StickyIndex.NONE) {
            return null;
        }
        int index = indexOf(m.array(), served);
        return index < 0 ? null : m.sticky().setCookie(index, affinity);
    }

    private static boolean eligible(Endpoint[] endpoints, int i, long triedMask, long now, boolean panic) {
        if ((triedMask & bit(i)) != 0) {
            return false;
        }
        Endpoint e = endpoints[i];
        return switch (e.health()) {
            // A name lost (no longer resolving) counts as unhealthy: see DnsRefresh.
            case HEALTHY -> panic || !e.isEjected(now) && !e.nameLost();
            case UNHEALTHY -> panic;
            case PENDING, WRONG_IDENTITY -> false;
        };
    }

    private Endpoint roundRobin(Endpoint[] endpoints, long triedMask, long now, boolean panic) {
        int n = endpoints.length;
        if (n == 0) {
            return null;
        }
        int start = Math.floorMod(next.getAndIncrement(), n);
        for (int k = 0; k < n; k++) {
            int i = (start + k) % n;
            if (eligible(endpoints, i, triedMask, now, panic)) {
                return endpoints[i];
            }
        }
        return null;
    }

    /** Power of two choices: two random eligible endpoints, the less loaded (per weight) wins. */
    private Endpoint leastRequest(Endpoint[] endpoints, long triedMask, long now, boolean panic) {
        int n = endpoints.length;
        if (n == 0) {
            return null;
        }
        int a = firstEligibleFrom(endpoints, random.nextInt(n), triedMask, now, panic);
        if (a < 0) {
            return null;
        }
        int b = firstEligibleFrom(endpoints, random.nextInt(n), triedMask, now, panic);
        if (b == a) {
            return endpoints[a];
        }
        double loadA = (endpoints[a].inFlight() + 1) / endpoints[a].effectiveWeight(now, slowStartNanos);
        double loadB = (endpoints[b].inFlight() + 1) / endpoints[b].effectiveWeight(now, slowStartNanos);
        return loadB < loadA ? endpoints[b] : endpoints[a];
    }

    private static int firstEligibleFrom(Endpoint[] endpoints, int start, long triedMask, long now, boolean panic) {
        int n = endpoints.length;
        for (int k = 0; k < n; k++) {
            int i = (start + k) % n;
            if (eligible(endpoints, i, triedMask, now, panic)) {
                return i;
            }
        }
        return -1;
    }

    private Endpoint weightedRandom(Endpoint[] endpoints, long triedMask, long now, boolean panic) {
        double total = 0;
        for (int i = 0; i < endpoints.length; i++) {
            if (eligible(endpoints, i, triedMask, now, panic)) {
                total += endpoints[i].effectiveWeight(now, slowStartNanos);
            }
        }
        if (total <= 0) {
            return null;
        }
        double r = random.nextDouble(total);
        Endpoint last = null;
        for (int i = 0; i < endpoints.length; i++) {
            if (eligible(endpoints, i, triedMask, now, panic)) {
                last = endpoints[i];
                r -= last.effectiveWeight(now, slowStartNanos);
                if (r < 0) {
                    return last;
                }
            }
        }
        return last;
    }

    /** True when requests go to unhealthy or ejected endpoints because nothing healthy is left. */
    public boolean panicking(long now) {
        Endpoint[] endpoints = members.array();
        for (int i = 0; i < endpoints.length; i++) {
            if (eligible(endpoints, i, 0, now, false)) {
                return false;
            }
        }
        return true;
    }

    /** Whether one more endpoint may be ejected without passing the cluster's ejection cap. */
    public boolean mayEject(long now) {
        Endpoint[] endpoints = members.array();
        int ejected = 0;
        for (Endpoint e : endpoints) {
            if (e.isEjected(now)) {
                ejected++;
            }
        }
        return ejected < Math.max(1, (int) Math.floor(endpoints.length * MAX_EJECTED_SHARE));
    }

    public long bitOf(Endpoint endpoint) {
        int index = indexOf(members.array(), endpoint);
        return index < 0 ? 0 : bit(index);
    }

    private static int indexOf(Endpoint[] endpoints, Endpoint endpoint) {
        for (int i = 0; i < endpoints.length; i++) {
            if (endpoints[i] == endpoint) {
                return i;
            }
        }
        return -1;
    }

    private static long bit(int index) {
        return 1L << (index & 63);
    }
}
