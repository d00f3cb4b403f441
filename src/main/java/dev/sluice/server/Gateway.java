package dev.sluice.server;

import dev.sluice.config.ListenerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.observe.AccessLog;
import dev.sluice.upstream.UpstreamConnector;
import dev.sluice.upstream.UpstreamPools;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane: the event loops, the listeners and the current {@link Snapshot}. Started and
 * stopped by the control plane; never blocks an event loop.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    private final Transport transport;
    private final EventLoopGroup loops;
    private final Map<EventLoop, UpstreamPools> pools = new IdentityHashMap<>();
    private final UpstreamConnector connector;
    private final AccessLog accessLog;
    private final Clock clock;
    private final LongSupplier nanoClock;
    private final ChannelGroup serverChannels = new DefaultChannelGroup("listeners", GlobalEventExecutor.INSTANCE);
    private final ChannelGroup clientChannels = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final List<InetSocketAddress> boundAddresses = new ArrayList<>();
    private volatile Snapshot snapshot;
    private List<dev.sluice.upstream.HealthChecker> healthCheckers = List.of();
    private volatile boolean draining;
    private final java.util.concurrent.atomic.AtomicInteger activeExchanges = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong cutExchanges = new java.util.concurrent.atomic.AtomicLong();

    public Gateway(SluiceConfig config, AccessLog accessLog, Clock clock, LongSupplier nanoClock) {
        this.transport = Transport.best();
        this.loops = transport.newGroup(config.server().effectiveEventLoopThreads(), "sluice-loop");
        this.accessLog = accessLog;
        this.clock = clock;
        this.nanoClock = nanoClock;
        this.connector = new UpstreamConnector(transport.socketChannel(), nanoClock);
        for (EventExecutor executor : loops) {
            EventLoop loop = (EventLoop) executor;
            pools.put(loop, new UpstreamPools(loop, nanoClock));
        }
        this.snapshot = Snapshot.build(config, null, nanoClock.getAsLong());
        startHealthChecks(snapshot);
    }

    /** Replaces the health checkers with ones for the clusters of {@code next}. */
    private void startHealthChecks(Snapshot next) {
        healthCheckers.forEach(dev.sluice.upstream.HealthChecker::close);
        List<dev.sluice.upstream.HealthChecker> checkers = new ArrayList<>();
        for (dev.sluice.upstream.Cluster cluster : next.clusters().values()) {
            if (cluster.config().healthCheck().isPresent()) {
                var checker = new dev.sluice.upstream.HealthChecker(cluster, loops.next(), transport.socketChannel(),
                        nanoClock);
                checker.start();
                checkers.add(checker);
            }
        }
        healthCheckers = checkers;
    }

    public static Gateway start(SluiceConfig config, AccessLog accessLog) throws InterruptedException {
        Gateway gateway = new Gateway(config, accessLog, Clock.systemUTC(), System::nanoTime);
        try {
            gateway.bindListeners();
        } catch (RuntimeException | InterruptedException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    void bindListeners() throws InterruptedException {
        for (ListenerConfig listener : snapshot.config().listeners()) {
            ListenerRuntime runtime = new ListenerRuntime(listener);
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(loops)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, UpstreamConnector.WATER_MARK)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            clientChannels.add(ch);
                            DownstreamHandler handler = new DownstreamHandler(Gateway.this, runtime);
                            ResponseEncoder encoder = new ResponseEncoder();
                            handler.useEncoder(encoder);
                            ch.pipeline()
                                    // Coalesces the many small writes of one read cycle into one syscall.
                                    .addLast("flush", new FlushConsolidationHandler(256, true))
                                    .addLast("decoder", new StrictRequestDecoder(StrictRequestDecoder.config(
                                            listener.maxRequestLine(), listener.maxHeaderSize(),
                                            UpstreamConnector.MAX_CHUNK_SIZE), handler))
                                    .addLast("encoder", encoder)
                                    .addLast("proxy", handler);
                        }
                    });
            Channel channel;
            try {
                channel = bootstrap.bind(listener.address().toSocketAddress()).sync().channel();
            } catch (Exception e) {
                throw new IllegalStateException("cannot listen on " + listener.address() + ": " + e.getMessage(), e);
            }
            serverChannels.add(channel);
            boundAddresses.add((InetSocketAddress) channel.localAddress());
            LOG.info("listening on {} ({}, {} event loops)", channel.localAddress(), transport.name(),
                    snapshot.config().server().effectiveEventLoopThreads());
        }
    }

    /** The addresses the listeners are bound to, in config order (port 0 resolved). */
    public List<InetSocketAddress> boundAddresses() {
        return List.copyOf(boundAddresses);
    }

    public Snapshot snapshot() {
        return snapshot;
    }

    /**
     * Builds and publishes the snapshot of a validated config; requests already routed keep the
     * one they read. Endpoints that stay keep their pools and health.
     */
    public synchronized void apply(SluiceConfig config) {
        Snapshot next = Snapshot.build(config, snapshot, nanoClock.getAsLong());
        this.snapshot = next;
        startHealthChecks(next);
    }

    public boolean draining() {
        return draining;
    }

    /**
     * From now on every response closes its client connection ({@code Connection: close}), and
     * connections idle between requests are closed at once. Listeners keep accepting until
     * {@link #stopAccepting()}: a load balancer may still send a few requests while it notices.
     */
    public void startDraining() {
        this.draining = true;
        for (Channel ch : clientChannels) {
            ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
        }
    }

    /** Closes the listening sockets; open connections are not touched. */
    public void stopAccepting() {
        serverChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        // Connections accepted since draining started are idle-closed too.
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

    void exchangeEnded() {
        activeExchanges.decrementAndGet();
    }

    /** Tells a client connection to close as soon as it is between requests. */
    enum DrainEvent { INSTANCE }

    public int openClientConnections() {
        return clientChannels.size();
    }

    UpstreamPools pools(EventLoop loop) {
        return pools.get(loop);
    }

    UpstreamConnector connector() {
        return connector;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    Clock clock() {
        return clock;
    }

    long nanoTime() {
        return nanoClock.getAsLong();
    }

    @Override
    public void close() {
        healthCheckers.forEach(dev.sluice.upstream.HealthChecker::close);
        cutExchanges.addAndGet(activeExchanges.get());
        serverChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        clientChannels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        for (Map.Entry<EventLoop, UpstreamPools> e : pools.entrySet()) {
            if (!e.getKey().isShuttingDown()) {
                e.getKey().execute(e.getValue()::closeAll);
            }
        }
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
