package dev.sluice.observe;

import dev.sluice.failure.FailureKind;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What each cluster's requests came to, counted as they finish ({@code Gateway.exchangeFinished})
 * for the incident windows and the dashboard: tries, failed tries by kind, by endpoint and by
 * route, retries and latency. Totals only go up; whoever reads them (the incident watch, once a
 * second) keeps the earlier totals and subtracts, so the request path never touches a clock or a
 * window.
 *
 * <p>Each thread that finishes requests (an event loop) counts in its own tallies: one writer per
 * counter, written with release stores and read with acquire loads, no lock and no contended
 * cache line. A reader sums the threads' tallies. A cluster's tally is made on its first request on
 * a thread and kept while the gateway runs (bounded by the cluster names its configs ever had).
 */
public final class ClusterTallies {
    private static final FailureKind[] KINDS = FailureKind.values();
    /** Latency buckets: bucket i holds totals up to {@code 64 µs × 2^i}; 24 of them reach ~9 min. */
    public static final int LATENCY_BUCKETS = 24;
    private static final long FIRST_BUCKET_MICROS = 64;

    // Slots of a cluster's counters.
    private static final int REQUESTS = 0;
    private static final int TRIES = 1;
    private static final int FAILURES = 2;
    private static final int FAILED_REQUESTS = 3;
    private static final int RETRIES = 4;
    private static final int RETRIES_REFUSED_BY_BUDGET = 5;
    private static final int KIND = 6;
    private static final int LATENCY = KIND + KINDS.length;
    private static final int CLUSTER_SLOTS = LATENCY + LATENCY_BUCKETS;
    // Slots of an endpoint's or a route's counters.
    private static final int NAMED_TRIES = 0;
    private static final int NAMED_FAILURES = 1;
    private static final int NAMED_KIND = 2;
    private static final int NAMED_SLOTS = NAMED_KIND + KINDS.length;
    // A route's counters go on: responses the backend answered with 5xx, and latency (a canary's comparison).
    private static final int ROUTE_BACKEND_5XX = NAMED_SLOTS;
    private static final int ROUTE_LATENCY = ROUTE_BACKEND_5XX + 1;
    private static final int ROUTE_SLOTS = ROUTE_LATENCY + LATENCY_BUCKETS;

    /**
     * The labels of {@code RetryDecision.Why} that the log carries ({@code decisionLabel}): a retry
     * starts with "retried", a refusal by the cluster's budget is "stopped_budget_exhausted".
     */
    private static final String RETRIED = "retried";
    private static final String BUDGET_EXHAUSTED = "stopped_budget_exhausted";

    private final List<ThreadTally> threads = new CopyOnWriteArrayList<>();
    private final FastThreadLocal<ThreadTally> local = new FastThreadLocal<>() {
        @Override
        protected ThreadTally initialValue() {
            ThreadTally tally = new ThreadTally();
            threads.add(tally);
            return tally;
        }
    };

    /**
     * Counts one finished request of a cluster (requests that reached none are not counted). A
     * try is one attempt at an endpoint; its failure is a failed try, whatever the retries made
     * of it afterwards: a dead endpoint whose requests were retried elsewhere is hidden from the
     * clients, not from the operators. Failures the client caused (a bad or rate-limited request)
     * say nothing about the cluster and are left out.
     */
    public void record(RequestLog log) {
        String clusterName = log.cluster();
        if (clusterName == null) {
            return;
        }
        Tally cluster = local.get().cluster(clusterName);
        List<RequestLog.Attempt> attempts = log.attempts();
        int tries = 0;
        int failures = 0;
        boolean finalRecorded = false;
        for (int i = 0; i < attempts.size(); i++) {
            RequestLog.Attempt a = attempts.get(i);
            tries++;
            Tally endpoint = a.endpoint() == null ? null : cluster.endpoint(a.endpoint());
            if (endpoint != null) {
                endpoint.add(NAMED_TRIES);
            }
            if (a.failure() != null && !GatewayMetrics.clientCaused(a.failure())) {
                failures++;
                cluster.add(KIND + a.failure().ordinal());
                if (endpoint != null) {
                    endpoint.add(NAMED_FAILURES);
                    endpoint.add(NAMED_KIND + a.failure().ordinal());
                }
            }
            String decision = a.decisionLabel();
            if (decision != null) {
                if (decision.startsWith(RETRIED)) {
                    cluster.add(RETRIES);
                } else {
                    finalRecorded = i == attempts.size() - 1;
                    if (decision.equals(BUDGET_EXHAUSTED)) {
                        cluster.add(RETRIES_REFUSED_BY_BUDGET);
                    }
                }
            }
        }
        FailureKind failure = log.failure();
        boolean gatewayFailure = failure != null && !GatewayMetrics.clientCaused(failure);
        if (!finalRecorded) {
            // The last try ended the request without a retry decision: a response, or a failure
            // before any endpoint was tried (overloaded, no healthy endpoint).
            Tally endpoint = log.endpoint() == null ? null : cluster.endpoint(log.endpoint());
            if (endpoint != null) {
                tries++;
                endpoint.add(NAMED_TRIES);
            }
            if (gatewayFailure) {
                failures++;
                cluster.add(KIND + failure.ordinal());
                if (endpoint != null) {
                    endpoint.add(NAMED_FAILURES);
                    endpoint.add(NAMED_KIND + failure.ordinal());
                }
            }
        }
        cluster.add(REQUESTS);
        cluster.add(TRIES, Math.max(1, tries));
        if (failures > 0) {
            cluster.add(FAILURES, failures);
        }
        if (gatewayFailure) {
            cluster.add(FAILED_REQUESTS);
        }
        int latencyBucket = latencyBucket(log.totalNanos());
        cluster.add(LATENCY + latencyBucket);
        if (log.route() != null) {
            Tally route = cluster.route(log.route());
            route.add(NAMED_TRIES);
            route.add(ROUTE_LATENCY + latencyBucket);
            if (log.status() >= 500 && log.statusSource() == RequestLog.StatusSource.BACKEND) {
                route.add(ROUTE_BACKEND_5XX);
            }
            if (failures > 0) {
                route.add(NAMED_FAILURES);
            }
            if (gatewayFailure) {
                route.add(NAMED_KIND + failure.ordinal());
            }
        }
    }

    static int latencyBucket(long nanos) {
        long units = Math.max(0, nanos / 1000) / FIRST_BUCKET_MICROS;
        int bucket = 64 - Long.numberOfLeadingZeros(units);
        return Math.min(bucket, LATENCY_BUCKETS - 1);
    }

    /** The upper bound of latency bucket {@code i}, in nanoseconds. */
    public static long latencyBucketBoundNanos(int i) {
        return FIRST_BUCKET_MICROS * 1000L << i;
    }

    /** Every cluster's totals so far, summed over the threads. */
    public Map<String, Totals> totals() {
        Map<String, Totals> sums = new HashMap<>();
        for (ThreadTally thread : threads) {
            thread.clusters.forEach((name, tally) -> sums.merge(name, tally.totals(), Totals::plus));
        }
        return sums;
    }

    /**
     * A cluster's totals: requests, tries (≥ 1 per request), failed tries, requests that ended in a
     * gateway failure, retries made and refused by the retry budget, failed tries by kind
     * ({@link FailureKind#ordinal()}), requests by latency bucket, and per endpoint and route.
     */
    public record Totals(long requests, long tries, long failures, long failedRequests, long retries,
                         long retriesRefusedByBudget, long[] byKind, long[] latency, Map<String, Named> endpoints,
                         Map<String, Named> routes) {
        public static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, new long[KINDS.length],
                new long[LATENCY_BUCKETS], Map.of(), Map.of());

        Totals plus(Totals o) {
            return new Totals(requests + o.requests, tries + o.tries, failures + o.failures,
                    failedRequests + o.failedRequests, retries + o.retries,
                    retriesRefusedByBudget + o.retriesRefusedByBudget, add(byKind, o.byKind, 1),
                    add(latency, o.latency, 1), Named.merge(endpoints, o.endpoints, 1), Named.merge(routes, o.routes, 1));
        }

        /** What happened between {@code earlier} and these totals. */
        public Totals minus(Totals earlier) {
            return new Totals(requests - earlier.requests, tries - earlier.tries, failures - earlier.failures,
                    failedRequests - earlier.failedRequests, retries - earlier.retries,
                    retriesRefusedByBudget - earlier.retriesRefusedByBudget, add(byKind, earlier.byKind, -1),
                    add(latency, earlier.latency, -1), Named.merge(endpoints, earlier.endpoints, -1),
                    Named.merge(routes, earlier.routes, -1));
        }

        private static long[] add(long[] a, long[] b, int sign) {
            long[] sum = a.clone();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += sign * b[i];
            }
            return sum;
        }
    }

    /**
     * An endpoint's tries and failed tries (by kind); a route's requests, those with a failed try,
     * their final failures by kind, the responses its backend answered with a 5xx, and their
     * latency by bucket (all 0 for an endpoint).
     */
    public record Named(long tries, long failures, long[] byKind, long backend5xx, long[] latency) {
        public Named(long tries, long failures, long[] byKind) {
            this(tries, failures, byKind, 0, new long[LATENCY_BUCKETS]);
        }

        static Map<String, Named> merge(Map<String, Named> a, Map<String, Named> b, int sign) {
            Map<String, Named> out = new HashMap<>(a);
            b.forEach((name, n) -> out.merge(name, sign > 0 ? n : n.negated(), Named::plus));
            return out;
        }

        Named plus(Named o) {
            return new Named(tries + o.tries, failures + o.failures, Totals.add(byKind, o.byKind, 1),
                    backend5xx + o.backend5xx, Totals.add(latency, o.latency, 1));
        }

        Named negated() {
            return new Named(-tries, -failures, Totals.add(new long[byKind.length], byKind, -1), -backend5xx,
                    Totals.add(new long[latency.length], latency, -1));
        }

        /** Requests that ended in a gateway failure (the sum of {@link #byKind}, for a route). */
        public long gatewayFailures() {
            long sum = 0;
            for (long n : byKind) {
                sum += n;
            }
            return sum;
        }
    }

    /**
     * The latency below which {@code q} of the requests counted in {@code buckets} fell,
     * interpolated within its bucket (buckets double, so the error is at most the bucket's
     * width); 0 without requests.
     */
    public static long percentileNanos(long[] buckets, double q) {
        long total = 0;
        for (long b : buckets) {
            total += b;
        }
        if (total <= 0) {
            return 0;
        }
        double rank = q * total;
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            if (buckets[i] > 0 && seen + buckets[i] >= rank) {
                long low = i == 0 ? 0 : latencyBucketBoundNanos(i - 1);
                long high = latencyBucketBoundNanos(i);
                return low + (long) ((high - low) * ((rank - seen) / buckets[i]));
            }
            seen += buckets[i];
        }
        return latencyBucketBoundNanos(buckets.length - 1);
    }

    /** One thread's tallies, by cluster name. */
    private static final class ThreadTally {
        final Map<String, Tally> clusters = new ConcurrentHashMap<>();

        Tally cluster(String name) {
            Tally t = clusters.get(name);
            return t != null ? t : clusters.computeIfAbsent(name, n -> new Tally(CLUSTER_SLOTS));
        }
    }

    /** Counters with one writer (the thread that owns them) and any number of readers. */
    private static final class Tally {
        private final AtomicLongArray counts;
        private final Map<String, Tally> endpoints;
        private final Map<String, Tally> routes;

        Tally(int slots) {
            this.counts = new AtomicLongArray(slots);
            boolean cluster = slots == CLUSTER_SLOTS;
            this.endpoints = cluster ? new ConcurrentHashMap<>() : Map.of();
            this.routes = cluster ? new ConcurrentHashMap<>() : Map.of();
        }

        void add(int slot) {
            add(slot, 1);
        }

        /** Single writer: a plain read and a release store, no read-modify-write instruction. */
        void add(int slot, long n) {
            counts.setRelease(slot, counts.getPlain(slot) + n);
        }

        Tally endpoint(String address) {
            Tally t = endpoints.get(address);
            return t != null ? t : endpoints.computeIfAbsent(address, a -> new Tally(NAMED_SLOTS));
        }

        Tally route(String name) {
            Tally t = routes.get(name);
            return t != null ? t : routes.computeIfAbsent(name, a -> new Tally(ROUTE_SLOTS));
        }

        private long get(int slot) {
            return counts.getAcquire(slot);
        }

        Totals totals() {
            long[] byKind = new long[KINDS.length];
            for (int k = 0; k < byKind.length; k++) {
                byKind[k] = get(KIND + k);
            }
            long[] latency = new long[LATENCY_BUCKETS];
            for (int b = 0; b < latency.length; b++) {
                latency[b] = get(LATENCY + b);
            }
            return new Totals(get(REQUESTS), get(TRIES), get(FAILURES), get(FAILED_REQUESTS), get(RETRIES),
                    get(RETRIES_REFUSED_BY_BUDGET), byKind, latency, named(endpoints), named(routes));
        }

        private static Map<String, Named> named(Map<String, Tally> tallies) {
            Map<String, Named> out = new HashMap<>();
            tallies.forEach((name, t) -> {
                long[] byKind = new long[KINDS.length];
                for (int k = 0; k < byKind.length; k++) {
                    byKind[k] = t.get(NAMED_KIND + k);
                }
                long[] latency = new long[LATENCY_BUCKETS];
                boolean route = t.counts.length() == ROUTE_SLOTS;
                for (int b = 0; route && b < latency.length; b++) {
                    latency[b] = t.get(ROUTE_LATENCY + b);
                }
                out.put(name, new Named(t.get(NAMED_TRIES), t.get(NAMED_FAILURES), byKind,
                        route ? t.get(ROUTE_BACKEND_5XX) : 0, latency));
            });
            return out;
        }
    }
}
