package dev.sluice.server;

import dev.sluice.access.PasswordChecks;
import dev.sluice.failure.IoErrors;
import dev.sluice.http.StrictRequestDecoder;
import dev.sluice.config.ListenerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.apps.Apps;
import dev.sluice.exchange.Admission;
import dev.sluice.exchange.AppAdmission;
import dev.sluice.exchange.ConcurrencyAdmission;
import dev.sluice.exchange.RateLimitAdmission;
import dev.sluice.exchange.ExchangeContext;
import dev.sluice.exchange.HeaderPolicy;
import dev.sluice.exchange.Snapshot;
import dev.sluice.exchange.Taps;
import dev.sluice.observe.AccessLog;
import dev.sluice.resilience.GlobalBuckets;
import dev.sluice.resilience.RedisBuckets;
import dev.sluice.upstream.DnsRefresh;
import dev.sluice.upstream.DnsResolver;
import dev.sluice.upstream.NameResolver;
import dev.sluice.upstream.UpstreamConnector;
import dev.sluice.upstream.UpstreamPools;
import dev.sluice.upstream.Upstreams;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane: the event loops, the listeners, the current {@link Snapshot}, and per event
 * loop what its connections and exchanges share ({@link ExchangeContext}). Started by the
 * Instance, given new snapshots by the ControlPlane, drained by {@link Drain}; never blocks an
 * event loop.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
    /** One receive-buffer sizing policy for every client connection (each still gets its own handle). */
    private static final io.netty.channel.AdaptiveRecvByteBufAllocator RECEIVE_BUFFERS =
            new io.netty.channel.AdaptiveRecvByteBufAllocator();

    private final Transport transport;
    private final EventLoopGroup loops;
    // Per event loop: filled for the gateway's own loops at construction, read once per client connection.
    private final Map<EventLoop, DeadlineWheel> deadlines = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<EventLoop, ExchangeContext> exchanges = new java.util.concurrent.ConcurrentHashMap<>();
    private final UpstreamConnector connector;
    private final AccessLog accessLog;
    private final Clock clock;
    private final LongSupplier nanoClock;
    private final java.util.function.Supplier<String> requestIds;
    /** The admit step of every exchange: the route's rate limits, then the cluster's concurrency gate. */
    private final Admission admission;
    /** The threads where basic auth's password hashes are checked, off the event loops; started when first used. */
    private final EventLoopGroup passwordThreads;
    private final PasswordChecks passwordChecks;
    /** The routes' mirrors and recordings (and the recorder's thread), shared by the loops. */
    private final Taps taps;
    private final ChannelGroup serverChannels = new DefaultChannelGroup("listeners", GlobalEventExecutor.INSTANCE);
    private final ChannelGroup clientChannels = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final ListenerSet listeners;
    /** Pools, health checks, host names and the drain of endpoints that leave. */
    private final Upstreams upstreams;
    /** The clusters whose endpoints come from Kubernetes Services, watched on {@code sluice-kubernetes}. */
    private final dev.sluice.kubernetes.KubernetesDiscovery kubernetes;
    private final Apps apps;
    /** Listening sockets closed by a reload whose accepted connections may still be open. */
    private final java.util.Set<Channel> retiredListeners = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile Snapshot snapshot;
    private final dev.sluice.observe.GatewayMetrics metrics = new dev.sluice.observe.GatewayMetrics();
    /** Each cluster's tries, failures and latency, read once a second by the incident watch and the dashboard. */
    private final dev.sluice.observe.ClusterTallies tallies = new dev.sluice.observe.ClusterTallies();
    /** Set by {@link #drainOnNextResponse()}: see {@link #closesAfterResponse}. */
    private volatile boolean closeAfterResponse;
    private final java.util.concurrent.atomic.AtomicInteger activeExchanges = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong cutExchanges = new java.util.concurrent.atomic.AtomicLong();
    /** WebSocket tunnels open now (their client connections count in openClientConnections too). */
    private final java.util.concurrent.atomic.AtomicInteger tunnels = new java.util.concurrent.atomic.AtomicInteger();
    /** The buckets of global rate limits, in the config's {@code redis:}; null without one. */
    private volatile RedisBuckets redis;
    private boolean redisMetered;

    public Gateway(SluiceConfig config, AccessLog accessLog, Clock clock, LongSupplier nanoClock) {
        this(config, accessLog, clock, nanoClock, HeaderPolicy::newRequestId);
    }

    /** @param requestIds where request ids come from (128 random bits in hex by default; tests fix them) */
    public Gateway(SluiceConfig config, AccessLog accessLog, Clock clock, LongSupplier nanoClock,
                   java.util.function.Supplier<String> requestIds) {
        this(config, accessLog, clock, nanoClock, requestIds, Apps.unrecorded());
    }

    /** @param apps the supervisor of the apps behind clusters ({@code clusters[].app}); the gateway stops them when it closes */
    public Gateway(SluiceConfig config, AccessLog accessLog, Clock clock, LongSupplier nanoClock,
                   java.util.function.Supplier<String> requestIds, Apps apps) {
        this(config, accessLog, clock, nanoClock, requestIds, apps, loop -> DnsResolver.on(loop, nanoClock));
    }

    /**
     * @param resolvers the resolver of hostname endpoints' names, made on the {@code sluice-dns}
     *     thread's loop (Netty's DNS resolver by default; tests give one whose answers they change)
     */
    public Gateway(SluiceConfig config, AccessLog accessLog, Clock clock, LongSupplier nanoClock,
                   java.util.function.Supplier<String> requestIds, Apps apps,
                   java.util.function.Function<EventLoop, NameResolver> resolvers) {
        this.requestIds = requestIds;
        this.apps = apps;
        // The route's rate limits first (a 429 never waits in a queue, nor counts against the
        // cluster), then the cluster's concurrency.
        this.redis = config.redis().map(RedisBuckets::start).orElse(null);
        // An app's hold queue between them: a request held while its app starts takes no slot of
        // the cluster, and goes on to the cluster's concurrency once the app is ready.
        this.admission = new RateLimitAdmission(new AppAdmission(new ConcurrencyAdmission(nanoClock), apps, nanoClock),
                this::globalBuckets);
        this.transport = Transport.best();
        this.loops = transport.newGroup(config.server().effectiveEventLoopThreads(), "sluice-loop");
        // A loop group for its lock-free task queue: handing a check over never takes a lock on an event loop.
        this.passwordThreads = transport.newGroup(PasswordChecks.THREADS, "sluice-password");
        this.passwordChecks = new PasswordChecks(passwordThreads);
        this.accessLog = accessLog;
        this.clock = clock;
        this.nanoClock = nanoClock;
        this.connector = new UpstreamConnector(transport.socketChannel(), nanoClock);
        this.taps = new Taps(clock);
        this.upstreams = new Upstreams(loops, transport.socketChannel(), nanoClock, resolvers,
                () -> snapshot.clusters());
        for (EventExecutor executor : loops) {
            serveOn((EventLoop) executor);
        }
        Snapshot first = Snapshot.build(apps.reconcile(config), null, nanoClock);
        metrics.publish(UpstreamMetrics.topology(first));
        this.snapshot = first;
        this.listeners = new ListenerSet(this::bind, metrics, retiredListeners::add,
                transport.name() + ", " + config.server().effectiveEventLoopThreads() + " event loops");
        this.kubernetes = new dev.sluice.kubernetes.KubernetesDiscovery(() -> snapshot.clusters(),
                upstreams::endpointsChanged, nanoClock, dev.sluice.kubernetes.KubernetesDiscovery.Clients.standard());
        upstreams.follow(kubernetes);
        upstreams.published(null, first.clusters());
        metrics.gauges("sluice_kubernetes_overlapping_pods", "Pods the cluster's Kubernetes Service shares with another "
                + "cluster's Service (not both say shared: true): traffic for one reaches the other's pods",
                List.of("cluster", "other_cluster"), rows -> kubernetes.overlaps().forEach(o -> {
                    rows.add(o.pods().size(), o.cluster(), o.otherCluster());
                    rows.add(o.pods().size(), o.otherCluster(), o.cluster());
                }));
        GatewayMeters.register(metrics, this);
        UpstreamMetrics.register(metrics, this::snapshot, upstreams::idleConnections, nanoClock);
        taps.registerMetrics(metrics, () -> snapshot.routes().routes());
        meterRedis();
    }

    /** The apps behind clusters. */
    public Apps apps() {
        return apps;
    }

    public static Gateway start(SluiceConfig config, AccessLog accessLog) throws InterruptedException {
        return start(config, accessLog, Apps.unrecorded());
    }

    public static Gateway start(SluiceConfig config, AccessLog accessLog, Apps apps) throws InterruptedException {
        Gateway gateway = new Gateway(config, accessLog, Clock.systemUTC(), System::nanoTime, HeaderPolicy::newRequestId,
                apps);
        try {
            gateway.bindListeners();
        } catch (RuntimeException | InterruptedException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    void bindListeners() throws InterruptedException {
        listeners.bindAll(snapshot.config().listeners());
    }

    /**
     * Binds one listening socket; its connections are counted against the listener's limit as
     * they are accepted, and served with the snapshot current at each request.
     */
    private Channel bind(ListenerRuntime runtime) {
        ListenerConfig listener = runtime.config;
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops)
                .channel(transport.serverChannel())
                .handler(new ConnectionLimitHandler(runtime))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, UpstreamConnector.WATER_MARK)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECEIVE_BUFFERS)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        serveClient(ch, runtime);
                    }
                });
        Channel channel;
        try {
            channel = bootstrap.bind(listener.address().toSocketAddress()).sync().channel();
        } catch (Exception e) {
            throw new IllegalStateException("cannot listen on " + listener.address() + ": " + IoErrors.describe(e), e);
        }
        serverChannels.add(channel);
        return channel;
    }

    /** Registers the Redis meters once, with the first config that has a {@code redis:}. */
    private void meterRedis() {
        if (!redisMetered && redis != null) {
            redisMetered = true;
            GatewayMeters.registerRedis(metrics, this);
        }
    }

    /** Makes what the connections and exchanges served by {@code loop} share: its pools, deadline wheel and exchange context. */
    void serveOn(EventLoop loop) {
        UpstreamPools loopPools = upstreams.serveOn(loop);
        deadlines.put(loop, new DeadlineWheel(loop, nanoClock));
        exchanges.put(loop, new ExchangeContext(loop, loopPools, connector, nanoClock, this::snapshot, admission,
                passwordChecks, apps, taps));
    }

    /** Sets up a client connection accepted by {@code listener}, on one of the loops {@link #serveOn} knows. */
    void serveClient(Channel ch, ListenerRuntime listener) {
        clientChannels.add(ch);
        ClientConnection handler = new ClientConnection(this, listener);
        ListenerConfig config = listener.config;
        listener.tls.ifPresent(tls -> tls.install(ch.pipeline()));
        // Two handlers and no more (after TLS's, on a TLS listener): each costs a hop per message and memory per idle connection.
        // The response encoder is called by ClientConnection directly, and flushes are batched by
        // ClientConnection itself.
        ch.pipeline()
                .addLast("decoder", new StrictRequestDecoder(StrictRequestDecoder.config(config.maxRequestLine(),
                        config.maxHeaderSize(), UpstreamConnector.MAX_CHUNK_SIZE), handler))
                .addLast("proxy", handler);
        // HTTP/2 by ALPN (TLS) or prior knowledge (h2c), when the listener offers it.
        Http2Negotiation.offer(ch.pipeline(), this, listener);
    }

    /** The addresses the listeners are bound to, in config order (port 0 resolved). */
    public List<InetSocketAddress> boundAddresses() {
        return listeners.addresses();
    }

    /** What {@link #reconcileListeners} did, as listener names with their bound addresses. */
    public record ListenerChanges(List<String> kept, List<String> added, List<String> removed) {
        public boolean any() {
            return !added.isEmpty() || !removed.isEmpty();
        }
    }

    /**
     * Makes the listeners those of {@code wanted}: see {@link ListenerSet#reconcile}. A removed
     * listener's open connections are left to finish: see {@link #retiredListenerConnections()}.
     */
    public ListenerChanges reconcileListeners(List<ListenerConfig> wanted) {
        return listeners.reconcile(wanted);
    }

    /** Each listener's connections against its limit, in config order; read without waiting for a reload. */
    public List<ListenerLoad> listenerLoads() {
        return listeners.loads();
    }

    /** Open client connections accepted by listeners that {@link #reconcileListeners} removed. */
    public int retiredListenerConnections() {
        int open = 0;
        for (Channel ch : clientChannels) {
            if (retiredListeners.contains(ch.parent())) {
                open++;
            }
        }
        if (open == 0) {
            retiredListeners.clear();
        }
        return open;
    }

    /**
     * Closes those of them that are between requests; one with an exchange in flight finishes it
     * first. (Their responses already carry {@code Connection: close}: see {@link #closesAfterResponse}.)
     */
    public void closeIdleRetiredListenerConnections() {
        for (Channel ch : clientChannels) {
            if (retiredListeners.contains(ch.parent())) {
                ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
            }
        }
    }

    /** Closes them whatever they are doing: the end of their drain. */
    public void closeRetiredListenerConnections() {
        for (Channel ch : clientChannels) {
            if (retiredListeners.contains(ch.parent())) {
                ch.close();
            }
        }
    }

    public Snapshot snapshot() {
        return snapshot;
    }

    /** A valid config the gateway could not take up (an app's replacement never became ready); nothing changed. */
    public static final class NotApplied extends RuntimeException {
        NotApplied(String message) {
            super(message);
        }
    }

    /**
     * Builds and publishes the snapshot of a validated config; requests already routed keep the
     * one they read. Endpoints that stay keep their pools and health.
     */
    public synchronized void apply(SluiceConfig config) {
        Snapshot previous = snapshot;
        // The apps first: a changed one's replacement is ready before the snapshot sends requests to it,
        // and one that does not become ready refuses the whole config before anything else changed.
        SluiceConfig withApps;
        try {
            withApps = apps.reconcile(config);
        } catch (Apps.NotReady e) {
            throw new NotApplied(e.getMessage());
        }
        RedisBuckets before = redis;
        if (!java.util.Objects.equals(config.redis(), java.util.Optional.ofNullable(before).map(RedisBuckets::config))) {
            // A changed redis: gets its own connection; requests asking the old one get its answer or fall back.
            redis = config.redis().map(RedisBuckets::start).orElse(null);
            if (before != null) {
                before.close();
            }
            meterRedis();
        }
        Snapshot next = Snapshot.build(withApps, previous, nanoClock);
        // Its meters first, so its first requests find them.
        metrics.publish(UpstreamMetrics.topology(next));
        this.snapshot = next;
        retireAfterPublishing(previous, next);
    }

    /**
     * What the previous snapshot had and the new one does not retires, only now that the new
     * one is published: endpoints drain ({@link Upstreams#published}: no new request picks them,
     * those in flight finish), and the processes of replaced apps stop a moment later
     * ({@link Apps#retireReplaced}), as a request that read the previous snapshot just before the
     * switch may still connect to one. Retired first, either would fail requests routed to it.
     */
    private void retireAfterPublishing(Snapshot previous, Snapshot next) {
        apps.retireReplaced();
        upstreams.published(previous.clusters(), next.clusters());
    }

    /** The names of hostname endpoints as they stand, for /status. */
    public DnsRefresh dnsRefresh() {
        return upstreams.dnsRefresh();
    }

    /** The upstream side: pools, health checks, and the way endpoints changed between reloads drain. */
    /** The Kubernetes clusters' watches as they stand, for /status. */
    public dev.sluice.kubernetes.KubernetesDiscovery kubernetes() {
        return kubernetes;
    }

    public Upstreams upstreams() {
        return upstreams;
    }

    /**
     * From now on every response whose head has yet to be written carries {@code Connection:
     * close}, and its connection is closed once that response is written in full; a response
     * whose head already went out as keep-alive keeps its connection for one more. Connections
     * idle right now stay open (closing an idle keep-alive connection races with a request its
     * client may already have sent, which a reset then loses); close the ones that stay idle with
     * {@link #closeIdleClientConnections()}. The decision to close is taken when a response's head
     * is written and kept to its end, so a client is never told "keep-alive" on a connection that
     * is then closed under its next request.
     */
    public void drainOnNextResponse() {
        this.closeAfterResponse = true;
    }

    /** Closes the listening sockets only; open connections carry on, idle or not. */
    public void closeListeners() {
        serverChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }

    /** Closes every client connection that is between requests; one with an exchange in flight finishes it first. */
    public void closeIdleClientConnections() {
        for (Channel ch : clientChannels) {
            ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
        }
    }

    /** Requests between their first byte and their last response byte, across all connections. */
    public int activeExchanges() {
        return activeExchanges.get();
    }

    /** Requests cut short by {@link #close()} while still in flight. */
    public long cutExchanges() {
        return cutExchanges.get();
    }

    void exchangeStarted() {
        activeExchanges.incrementAndGet();
    }


    /** Tells a client connection to close as soon as it is between requests. */
    enum DrainEvent { INSTANCE }

    /** True when responses on {@code client} are to end their connection: a gateway drain, or a removed listener. */
    boolean closesAfterResponse(Channel client) {
        return closeAfterResponse || !retiredListeners.isEmpty() && retiredListeners.contains(client.parent());
    }

    public int openClientConnections() {
        return clientChannels.size();
    }

    /** WebSocket tunnels open now; each is also an open client connection, until drain.timeout on a shutdown. */
    public int openTunnels() {
        return tunnels.get();
    }

    java.util.concurrent.atomic.AtomicInteger tunnels() {
        return tunnels;
    }

    /** What the exchanges served by {@code loop} share: its pools, the connector, the clock, the snapshot, admission. */
    ExchangeContext exchanges(EventLoop loop) {
        return exchanges.get(loop);
    }

    /** A fresh request id. */
    String newRequestId() {
        return requestIds.get();
    }

    /** Where request ids come from, for a request that may bring its own. */
    java.util.function.Supplier<String> requestIds() {
        return requestIds;
    }

    /** The header, body and response deadlines of the client connections on {@code loop}. */
    DeadlineWheel deadlines(EventLoop loop) {
        return deadlines.get(loop);
    }

    UpstreamConnector connector() {
        return connector;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    /** Request and failure counters; {@code GET /metrics} renders them. */
    public dev.sluice.observe.GatewayMetrics metrics() {
        return metrics;
    }

    /** Each cluster's totals so far, counted by the threads that finished its requests. */
    public dev.sluice.observe.ClusterTallies tallies() {
        return tallies;
    }

    /** Everything that happens when an exchange ends: the access-log line and the counters. */
    void exchangeFinished(dev.sluice.observe.RequestLog exchange) {
        accessLog.log(exchange);
        metrics.record(exchange);
        tallies.record(exchange);
        exchange.finished();
        activeExchanges.decrementAndGet();
    }

    Clock clock() {
        return clock;
    }

    long nanoTime() {
        return nanoClock.getAsLong();
    }

    LongSupplier nanoClock() {
        return nanoClock;
    }

    /** Where global rate limits count now: Redis, or nowhere (each decided by a local bucket). */
    GlobalBuckets globalBuckets() {
        RedisBuckets r = redis;
        return r == null ? GlobalBuckets.NONE : r;
    }

    /** The Redis of global rate limits, when the config has one. */
    /** The routes' mirrors and recordings: their counts for /status. */
    public Taps taps() {
        return taps;
    }

    public java.util.Optional<RedisBuckets> redis() {
        return java.util.Optional.ofNullable(redis);
    }

    @Override
    public void close() {
        listeners.close();
        cutExchanges.addAndGet(activeExchanges.get());
        serverChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        clientChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        upstreams.close();
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        passwordThreads.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        // After the loops: every recorded exchange has been handed over; what is queued is written.
        taps.close();
        RedisBuckets r = redis;
        if (r != null) {
            r.close();
        }
        // Last: the requests to them have ended or been cut.
        apps.close();
    }
}
