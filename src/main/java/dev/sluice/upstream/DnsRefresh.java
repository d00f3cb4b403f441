package dev.sluice.upstream;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.EndpointConfig;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the endpoints of host names as their names resolve: each name of each cluster is asked
 * again every {@code dns_refresh}, or sooner when its answer's TTL runs out sooner (but not more
 * than once a second), and its cluster's endpoints follow the answer: a new address becomes an
 * endpoint (health-checked like the others), a gone one is drained (no new requests, in-flight
 * ones finish, its pooled connections close).
 *
 * <p>A name that stops resolving (no such name, no address, no answer) keeps its last addresses.
 * The first failure is logged (WARN) and changes nothing: a DNS server's hiccup is not an outage
 * of the service. At the {@value #FAILURES_BEFORE_LOST}rd failure in a row (two refreshes later)
 * the name is lost: its addresses are picked only as unhealthy endpoints are, in panic mode. The
 * next answer finds it again.
 *
 * <p>Runs on its own thread ({@code sluice-dns}, an event loop that serves no traffic): lookups,
 * their answers and the changes they make. A cluster's endpoints are replaced in one write
 * ({@link Cluster#replaceEndpoints}); a request reads them once per pick.
 */
public final class DnsRefresh implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsRefresh.class);
    /** 3: one failure is a hiccup, three in a row (a minute at the default dns_refresh) is a name gone. */
    static final int FAILURES_BEFORE_LOST = 3;
    /** 1 s: a TTL of 0 (or 1) must not make Sluice ask continuously. */
    static final long SHORTEST_TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Told on the {@code sluice-dns} thread when a cluster's endpoints changed, with the ones it no longer has. */
    public interface Changes {
        void endpointsChanged(Cluster cluster, List<Endpoint> removed);
    }

    /** A name's standing, for {@code /status}: {@code resolved}, {@code failing} (still using its last addresses), {@code lost}, or {@code pending}. */
    public record Standing(String name, String state, List<String> addresses, int failuresInARow, String error,
                           Duration refresh) {}

    private final EventLoop loop;
    private final NameResolver resolver;
    private final LongSupplier nanoClock;
    private final Supplier<Map<String, Cluster>> clusters;
    private final Changes changes;
    private final Map<String, Name> names = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public DnsRefresh(EventLoop loop, NameResolver resolver, LongSupplier nanoClock,
                      Supplier<Map<String, Cluster>> clusters, Changes changes) {
        this.loop = loop;
        this.resolver = resolver;
        this.nanoClock = nanoClock;
        this.clusters = clusters;
        this.changes = changes;
    }

    /** One host name of one cluster. Written on the loop; read by /status. */
    private final class Name {
        final String cluster;
        final EndpointConfig endpoint;
        final CompletableFuture<Void> firstAnswer = new CompletableFuture<>();
        volatile Duration refresh;
        volatile List<InetAddress> addresses = List.of();
        volatile int failures;
        volatile String error;
        volatile boolean answered;
        ScheduledFuture<?> next;

        Name(String cluster, EndpointConfig endpoint, Duration refresh) {
            this.cluster = cluster;
            this.endpoint = endpoint;
            this.refresh = refresh;
        }

        String address() {
            return endpoint.address().toString();
        }

        boolean lost() {
            return failures >= FAILURES_BEFORE_LOST && !addresses.isEmpty();
        }
    }

    private static String key(String cluster, EndpointConfig endpoint) {
        return cluster + "|" + endpoint.address();
    }

    /**
     * Follows the host names of {@code published} (the clusters just published): new names are
     * asked now, names no longer in the config are dropped, and a kept name's addresses are put
     * into its (new) cluster. Completes once every new name has its first answer or failure.
     */
    public CompletableFuture<Void> track(Map<String, Cluster> published) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            Set<String> wanted = new LinkedHashSet<>();
            List<CompletableFuture<Void>> first = new ArrayList<>();
            for (Cluster cluster : published.values()) {
                for (EndpointConfig ec : cluster.config().endpoints()) {
                    if (ec.address().isIpLiteral()) {
                        continue;
                    }
                    String key = key(cluster.name(), ec);
                    wanted.add(key);
                    Name name = names.get(key);
                    if (name == null || !name.endpoint.equals(ec)) {
                        if (name != null) {
                            cancel(name);
                        }
                        Name fresh = new Name(cluster.name(), ec, cluster.config().dnsRefresh());
                        if (name != null) {
                            fresh.addresses = name.addresses;
                            fresh.answered = name.answered;
                            fresh.firstAnswer.complete(null);
                        }
                        names.put(key, fresh);
                        first.add(fresh.firstAnswer);
                        ask(fresh);
                    } else {
                        if (!name.refresh.equals(cluster.config().dnsRefresh())) {
                            name.refresh = cluster.config().dnsRefresh();
                            cancel(name);
                            schedule(name, 0);
                        }
                        apply(name);
                    }
                }
            }
            names.entrySet().removeIf(e -> {
                if (!wanted.contains(e.getKey())) {
                    cancel(e.getValue());
                    return true;
                }
                return false;
            });
            CompletableFuture.allOf(first.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> done.complete(null));
        });
        return done;
    }

    /** Each of {@code cluster}'s names as it stands now. */
    public List<Standing> standings(String cluster) {
        List<Standing> out = new ArrayList<>();
        names.values().stream().filter(n -> n.cluster.equals(cluster)).forEach(n -> out.add(new Standing(n.address(),
                !n.answered && n.failures == 0 ? "pending" : n.lost() ? "lost" : n.failures > 0 ? "failing" : "resolved",
                n.addresses.stream().map(InetAddress::getHostAddress).toList(), n.failures, n.error, n.refresh)));
        return out;
    }

    private void ask(Name name) {
        if (closed) {
            return;
        }
        resolver.resolve(name.endpoint.address().host()).whenComplete((answer, failure) -> {
            NameResolver.Answer a = answer != null ? answer
                    : new NameResolver.Answer.Failed(failure.getClass().getSimpleName() + ": " + failure.getMessage());
            if (!loop.isShuttingDown()) {
                loop.execute(() -> answered(name, a));
            }
        });
    }

    private void answered(Name name, NameResolver.Answer answer) {
        if (closed || names.get(key(name.cluster, name.endpoint)) != name) {
            return;
        }
        long delay = name.refresh.toNanos();
        switch (answer) {
            case NameResolver.Answer.Addresses found -> {
                if (name.failures > 0) {
                    LOG.info("cluster {}: {} resolves again, to {}", name.cluster, name.address(), text(found.addresses()));
                }
                name.failures = 0;
                name.error = null;
                name.answered = true;
                name.addresses = found.addresses();
                delay = nextDelay(found.ttlNanos(), name.refresh.toNanos());
            }
            case NameResolver.Answer.Failed failed -> {
                name.failures++;
                name.error = failed.why();
                if (name.failures == 1) {
                    LOG.warn("cluster {}: {} does not resolve ({}); {}", name.cluster, name.address(), failed.why(),
                            name.addresses.isEmpty() ? "it has no endpoint until it does"
                                    : "keeping its last addresses " + text(name.addresses) + " for now");
                } else if (name.failures == FAILURES_BEFORE_LOST && !name.addresses.isEmpty()) {
                    LOG.warn("cluster {}: {} has not resolved {} times in a row ({}); its addresses {} are now used "
                                    + "only as unhealthy endpoints are (panic mode)", name.cluster, name.address(),
                            FAILURES_BEFORE_LOST, failed.why(), text(name.addresses));
                }
            }
        }
        apply(name);
        name.firstAnswer.complete(null);
        schedule(name, delay);
    }

    /** When to ask again: the refresh interval, or the answer's TTL when shorter (at least a second). */
    static long nextDelay(long ttlNanos, long refreshNanos) {
        return ttlNanos < 0 ? refreshNanos : Math.min(refreshNanos, Math.max(ttlNanos, SHORTEST_TTL_NANOS));
    }

    /** Makes the name's endpoints in its cluster those of its addresses, in config order, and marks them lost or not. */
    private void apply(Name name) {
        Cluster cluster = clusters.get().get(name.cluster);
        if (cluster == null || !cluster.config().endpoints().contains(name.endpoint)) {
            return;
        }
        String address = name.address();
        Map<InetAddress, Endpoint> had = new LinkedHashMap<>();
        for (Endpoint e : cluster.endpoints()) {
            if (e.fromName() && e.address().equals(address)) {
                had.put(e.socketAddress().getAddress(), e);
            }
        }
        boolean lost = name.lost();
        if (had.keySet().equals(new LinkedHashSet<>(name.addresses))) {
            had.values().forEach(e -> e.nameLost(lost));
            return;
        }
        ClusterConfig config = cluster.config();
        long now = nanoClock.getAsLong();
        List<Endpoint> group = new ArrayList<>();
        for (InetAddress ip : name.addresses) {
            Endpoint e = had.remove(ip);
            group.add(e != null ? e : Endpoint.resolved(config.name(), address, ip, name.endpoint.address().port(),
                    name.endpoint.labels(), name.endpoint.weight(), config.healthCheck().isPresent(), now));
        }
        group.forEach(e -> e.nameLost(lost));
        List<Endpoint> next = new ArrayList<>();
        for (EndpointConfig ec : config.endpoints()) {
            if (ec.equals(name.endpoint)) {
                next.addAll(group);
            } else {
                String other = ec.address().toString();
                cluster.endpoints().stream().filter(e -> e.address().equals(other)).forEach(next::add);
            }
        }
        cluster.replaceEndpoints(next);
        List<Endpoint> removed = List.copyOf(had.values());
        LOG.info("cluster {}: {} resolves to {}{}", name.cluster, address, text(name.addresses),
                removed.isEmpty() ? "" : "; draining " + removed.stream().map(e -> e.socketAddress().getAddress())
                        .map(InetAddress::getHostAddress).toList());
        changes.endpointsChanged(cluster, removed);
    }

    private void schedule(Name name, long delayNanos) {
        if (!closed) {
            name.next = loop.schedule(() -> ask(name), delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private static void cancel(Name name) {
        if (name.next != null) {
            name.next.cancel(false);
        }
    }

    private static String text(List<InetAddress> addresses) {
        return addresses.stream().map(InetAddress::getHostAddress).toList().toString();
    }

    @Override
    public void close() {
        closed = true;
        resolver.close();
    }
}
