package dev.sluice.upstream;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's upstream side: each event loop's connection pools, the clusters' health
 * checkers, the host names of endpoints followed on the {@code sluice-dns} thread, and the one
 * way an endpoint leaves a cluster: drained, never cut. The gateway tells it each published
 * snapshot's clusters ({@link #published}); a source that changes a cluster's endpoints between
 * reloads (DNS answers, {@link DnsRefresh}) tells {@link #endpointsChanged}.
 */
public final class Upstreams implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Upstreams.class);
    /** 5 s: Netty's DNS query timeout; a name slower than that is not worth holding a start for. */
    private static final Duration FIRST_ANSWERS_WAIT = Duration.ofSeconds(5);

    /** Per event loop, touched only by it (filled for the gateway's loops at its start). */
    private final Map<EventLoop, UpstreamPools> pools = new ConcurrentHashMap<>();
    private final EventLoopGroup loops;
    private final Class<? extends SocketChannel> socketChannel;
    private final LongSupplier nanoClock;
    /** Replaced with each published snapshot (under this object's lock); read by endpoint changes on other threads. */
    private volatile List<HealthChecker> healthCheckers = List.of();
    /** One thread that serves no traffic: DNS lookups, their answers, and the endpoint changes they make. */
    private final EventLoopGroup dnsThread;
    private final DnsRefresh dnsRefresh;
    /** The other sources of endpoints between reloads (Kubernetes' EndpointSlices), told each published snapshot. */
    private final List<EndpointSource> sources = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * A source of a cluster's endpoints between reloads, like DNS answers: told the clusters of
     * each published snapshot ({@link #track}: it puts what it knows into them, and completes once
     * what is new to it has its first answer), it changes a cluster with
     * {@link Cluster#replaceEndpoints} and then tells {@link Upstreams#endpointsChanged}.
     */
    public interface EndpointSource extends AutoCloseable {
        CompletableFuture<Void> track(Map<String, Cluster> published);

        @Override
        void close();
    }

    /**
     * @param loops the gateway's event loops, on which health checks run
     * @param resolvers the resolver of hostname endpoints' names, made on the {@code sluice-dns}
     *     thread's loop (Netty's DNS resolver by default; tests give one whose answers they change)
     * @param clusters the clusters published now
     */
    public Upstreams(EventLoopGroup loops, Class<? extends SocketChannel> socketChannel, LongSupplier nanoClock,
                     Function<EventLoop, NameResolver> resolvers, Supplier<Map<String, Cluster>> clusters) {
        this.loops = loops;
        this.socketChannel = socketChannel;
        this.nanoClock = nanoClock;
        this.dnsThread = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-dns", true),
                NioIoHandler.newFactory());
        EventLoop dnsLoop = dnsThread.next();
        this.dnsRefresh = new DnsRefresh(dnsLoop, resolvers.apply(dnsLoop), nanoClock, clusters,
                this::endpointsChanged);
    }

    /** Follows {@code source} from the next published snapshot on; closed with this. */
    public void follow(EndpointSource source) {
        sources.add(source);
    }

    /** Makes the pools of the upstream connections of requests served by {@code loop}. */
    public UpstreamPools serveOn(EventLoop loop) {
        UpstreamPools loopPools = new UpstreamPools(loop, nanoClock);
        pools.put(loop, loopPools);
        return loopPools;
    }

    /**
     * The clusters of a snapshot just published ({@code previous} null for the first): health
     * checks follow them, endpoints no longer in any cluster drain, and new host names are asked,
     * their first answers waited for at most {@link #FIRST_ANSWERS_WAIT} so their clusters have
     * endpoints before the first request (a slower name gets its endpoints when it answers).
     * Never called on an event loop.
     */
    public synchronized void published(Map<String, Cluster> previous, Map<String, Cluster> next) {
        startHealthChecks(next);
        if (previous != null) {
            retireRemoved(previous, next);
        }
        awaitFirstAnswers(dnsRefresh.track(next));
        sources.forEach(source -> awaitFirstAnswers(source.track(next)));
    }

    /**
     * A cluster's endpoints changed between reloads (a host name answered differently): the ones
     * it no longer has drain as a reload's removed ones do, and its health checks follow its endpoints.
     */
    public void endpointsChanged(Cluster cluster, List<Endpoint> removed) {
        retire(removed);
        for (HealthChecker checker : healthCheckers) {
            if (checker.cluster() == cluster) {
                checker.watch();
            }
        }
    }

    /** The names of hostname endpoints as they stand, for /status. */
    public DnsRefresh dnsRefresh() {
        return dnsRefresh;
    }

    /**
     * Each endpoint's idle pooled connections, summed over the event loops: each loop is asked
     * for its own (its pools are touched only by it), and the answers are waited for at most
     * 1 s in all. For a scrape, never on an event loop.
     */
    public Map<Endpoint, Integer> idleConnections() {
        Map<Endpoint, Integer> idle = new ConcurrentHashMap<>();
        List<Future<?>> asked = new ArrayList<>();
        pools.forEach((loop, loopPools) -> {
            if (loop.inEventLoop()) {
                loopPools.idleCounts((e, n) -> idle.merge(e, n, Integer::sum));
            } else if (!loop.isShuttingDown()) {
                asked.add(loop.submit(() -> loopPools.idleCounts((e, n) -> idle.merge(e, n, Integer::sum))));
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        for (Future<?> answer : asked) {
            answer.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        return idle;
    }

    private void startHealthChecks(Map<String, Cluster> clusters) {
        healthCheckers.forEach(HealthChecker::close);
        List<HealthChecker> checkers = new ArrayList<>();
        for (Cluster cluster : clusters.values()) {
            if (cluster.config().healthCheck().isPresent()) {
                HealthChecker checker = new HealthChecker(cluster, loops.next(), socketChannel, nanoClock);
                checker.start();
                checkers.add(checker);
            }
        }
        healthCheckers = checkers;
    }

    /**
     * Endpoints the new clusters no longer have drain: no new request picks them (the snapshot
     * that had them is gone), requests in flight finish, and their idle pooled connections are
     * closed on every event loop, as are the connections of the in-flight requests when they end.
     */
    private void retireRemoved(Map<String, Cluster> previous, Map<String, Cluster> next) {
        Set<Endpoint> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        next.values().forEach(c -> kept.addAll(c.endpoints()));
        List<Endpoint> removed = new ArrayList<>();
        previous.values().forEach(c -> c.endpoints().stream().filter(e -> !kept.contains(e)).forEach(removed::add));
        if (!removed.isEmpty()) {
            retire(removed);
            LOG.info("draining {} endpoint(s) no longer in the config: {}", removed.size(), removed);
        }
    }

    private void retire(List<Endpoint> removed) {
        if (removed.isEmpty()) {
            return;
        }
        removed.forEach(Endpoint::retire);
        pools.forEach((loop, loopPools) -> loop.execute(() -> removed.forEach(loopPools::retire)));
    }

    private static void awaitFirstAnswers(CompletableFuture<Void> answers) {
        try {
            answers.get(FIRST_ANSWERS_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // The names that did not answer are still asked: see DnsRefresh.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops following: DNS and health checks end, and every idle pooled connection is closed on
     * its loop. Before the event loops shut down.
     */
    @Override
    public void close() {
        dnsRefresh.close();
        sources.forEach(EndpointSource::close);
        dnsThread.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        healthCheckers.forEach(HealthChecker::close);
        pools.forEach((loop, loopPools) -> {
            if (!loop.isShuttingDown()) {
                loop.execute(loopPools::closeAll);
            }
        });
    }
}
