package dev.sluice.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A TCP relay on a loopback port, placed between the proxy and a backend, that injects faults on command:
 * delays, resets, idle closes, refused connects, blackholes. It stages keep-alive races, resets and slow
 * peers with real sockets.
 *
 * <pre>{@code
 * try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
 *      FaultRelay relay = FaultRelay.start(backend.address())) {
 *     // point Sluice's endpoint at relay.authority(), then e.g.
 *     relay.resetAfterBytes(0);          // the next request bytes on any connection reset it
 * }
 * }</pre>
 *
 * <p>The relay is byte-level and knows nothing of HTTP. Every fault can be set at any time; unless said
 * otherwise it applies to open connections from their next read and to new ones. {@link #heal()} ends
 * them all. Half-closes are relayed as half-closes and a reset from either peer as a reset to the other,
 * so the proxy sees what a direct connection would show; if the target refuses, an accepted connection is
 * closed at once. Each call returns the relay for chaining. Control it from test threads, not from an event loop: some calls wait for the connections to apply them.
 */
public final class FaultRelay implements AutoCloseable {
    private final InetSocketAddress target;
    private final EventLoopGroup group;
    private final ServerBootstrap bootstrap;
    private final InetSocketAddress address;
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Set<RelayConnection> connections = ConcurrentHashMap.newKeySet();
    private final Object listenerLock = new Object();
    private Channel listener; // null while refusing; guarded by listenerLock

    private volatile long delayNanos;
    private volatile ResetSetting upstreamReset; // null: off
    private volatile Duration idleTimeout;       // null: off
    private volatile boolean blackholed;
    private final AtomicLong nextResponseBudget = new AtomicLong(-1);

    private final AtomicLong connectionsAccepted = new AtomicLong();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicLong bytesUpstream = new AtomicLong();
    private final AtomicLong bytesDownstream = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong idleCloses = new AtomicLong();

    /** A distinct object per {@link #resetAfterBytes} call, so connections notice a re-arm with the same n. */
    private static final class ResetSetting {
        final long bytes;

        ResetSetting(long bytes) {
            this.bytes = bytes;
        }
    }

    private FaultRelay(InetSocketAddress target) {
        this.target = Objects.requireNonNull(target, "target");
        this.group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("fault-relay", true), NioIoHandler.newFactory());
        this.bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                // So accept() can rebind the port while relayed connections on it are in TIME_WAIT.
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connectionsAccepted.incrementAndGet();
                        openConnections.incrementAndGet();
                        channels.add(ch);
                        RelayConnection connection = new RelayConnection(FaultRelay.this, ch);
                        ch.closeFuture().addListener(f -> {
                            openConnections.decrementAndGet();
                            connections.remove(connection);
                        });
                        ch.pipeline().addLast(connection.handler(true));
                    }
                });
        try {
            this.listener = bootstrap.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly();
            throw e;
        }
        this.address = (InetSocketAddress) listener.localAddress();
    }

    /** Starts a relay on a free loopback port forwarding to {@code target}, with no faults. */
    public static FaultRelay start(InetSocketAddress target) {
        return new FaultRelay(target);
    }

    /** Where clients connect; the port stays the same across {@link #refuse()} and {@link #accept()}. */
    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    /** {@code 127.0.0.1:PORT}, as written in a Sluice config's endpoint list. */
    public String authority() {
        return address.getAddress().getHostAddress() + ":" + port();
    }

    public InetSocketAddress target() {
        return target;
    }

    // ---- faults ----

    /**
     * Holds every chunk of bytes, in both directions, for {@code delay} before forwarding it: added latency,
     * order kept. {@link Duration#ZERO} ends it. Applies to bytes read from now on.
     */
    public FaultRelay delay(Duration delay) {
        this.delayNanos = delay.toNanos();
        return this;
    }

    /**
     * On every connection, forwards {@code n} more bytes from client to target, counted from the connection's
     * first read after this call (or its opening), and then resets both sides: SO_LINGER 0 and close, so the
     * client and the target each get an RST. The reset happens on the read that reaches {@code n}, so
     * {@code resetAfterBytes(requestLength)} lets exactly one request through and kills the connection
     * before any response can return; {@code resetAfterBytes(0)} resets a connection as soon as it sends
     * anything. Stays in force (also for new connections) until {@link #heal()}.
     */
    public FaultRelay resetAfterBytes(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0");
        }
        this.upstreamReset = new ResetSetting(n);
        return this;
    }

    /**
     * One shot: the next bytes any target sends (on whichever connection answers first) are not forwarded;
     * both sides of that connection are reset instead. Stages "request sent, connection reset before any
     * response byte".
     */
    public FaultRelay resetNextResponse() {
        return truncateNextResponse(0);
    }

    /**
     * One shot: the next connection on which the target sends bytes forwards {@code n} of them to the client
     * and is then reset both ways: a response cut mid-way.
     */
    public FaultRelay truncateNextResponse(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0");
        }
        nextResponseBudget.set(n);
        return this;
    }

    /**
     * Closes (FIN, then full close of both sides) every connection, open or new, once no byte has passed
     * either way for {@code idle}: a backend's keep-alive timeout. A client writing into the closed connection
     * gets an RST from the kernel, as with a real backend.
     */
    public FaultRelay closeWhenIdle(Duration idle) {
        this.idleTimeout = Objects.requireNonNull(idle, "idle");
        forEachConnection(RelayConnection::armIdleTimer);
        return this;
    }

    /**
     * Closes the listening socket: new connects get ECONNREFUSED. Open connections keep working, but ones
     * still waiting in the accept queue are reset by the kernel (await {@link #openConnections()} first to
     * keep them). {@link #accept()} listens again on the same port.
     */
    public FaultRelay refuse() {
        closeListener(true);
        return this;
    }

    private void closeListener(boolean awaitPortFree) {
        synchronized (listenerLock) {
            if (listener != null) {
                Channel closing = listener;
                listener = null;
                closing.close().syncUninterruptibly();
                // NIO closes a registered socket only on the selector's next pass: until then it still
                // completes handshakes. Wait until the port is really free.
                if (awaitPortFree) {
                    closing.eventLoop().submit(() -> {}).syncUninterruptibly();
                    Await.until(Duration.ofSeconds(5), this::portIsFree, "relay port " + port() + " to stop listening");
                }
            }
        }
    }

    /** True once no socket listens on the relay's port; binds (never listens) a probe socket to find out. */
    private boolean portIsFree() {
        try (java.nio.channels.SocketChannel probe = java.nio.channels.SocketChannel.open()) {
            // Accepted relay connections share the port; SO_REUSEADDR lets the probe coexist with them (and
            // TIME_WAIT), while a socket still listening on the port makes the bind fail.
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.bind(address);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Listens again on the same port after {@link #refuse()}; does nothing if already listening. */
    public FaultRelay accept() {
        synchronized (listenerLock) {
            if (listener == null) {
                try {
                    listener = bootstrap.bind(address).syncUninterruptibly().channel();
                } catch (RuntimeException e) {
                    throw new IllegalStateException("could not listen on " + address + " again", e);
                }
            }
        }
        return this;
    }

    /**
     * Accepts connections but never forwards or answers: bytes either way are read and dropped, on open
     * connections too. Connections accepted while blackholed are never connected to the target, even after
     * {@link #heal()}; open ones resume forwarding after it (what was dropped stays dropped).
     */
    public FaultRelay blackhole() {
        this.blackholed = true;
        return this;
    }

    /** Ends every fault: no delay, no resets (one-shots disarmed), no idle closing, no blackhole. Does not re-{@link #accept()}. */
    public FaultRelay heal() {
        delayNanos = 0;
        upstreamReset = null;
        idleTimeout = null;
        blackholed = false;
        nextResponseBudget.set(-1);
        forEachConnection(RelayConnection::armIdleTimer);
        return this;
    }

    /** Resets (RST both ways) every open connection now, as a crashing backend host would. */
    public void resetAllConnections() {
        forEachConnection(RelayConnection::reset);
    }

    /** Closes (FIN) every open connection now, as a backend restarting gracefully would. */
    public void closeAllConnections() {
        forEachConnection(RelayConnection::close);
    }

    // ---- counters ----

    public long connectionsAccepted() {
        return connectionsAccepted.get();
    }

    /** Client connections currently open. */
    public int openConnections() {
        return openConnections.get();
    }

    /** Bytes forwarded client → target. */
    public long bytesUpstream() {
        return bytesUpstream.get();
    }

    /** Bytes forwarded target → client. */
    public long bytesDownstream() {
        return bytesDownstream.get();
    }

    /** Connections reset by the relay, injected or relayed from a peer's reset. */
    public long resets() {
        return resets.get();
    }

    /** Connections closed by {@link #closeWhenIdle}. */
    public long idleCloses() {
        return idleCloses.get();
    }

    /** Waits until exactly {@code n} client connections are open. */
    public void awaitOpenConnections(int n, Duration timeout) {
        Await.until(timeout, () -> openConnections() == n, () -> n + " open relay connection(s), have " + openConnections());
    }

    /** Stops listening, closes every connection and stops the relay's threads. */
    @Override
    public void close() {
        closeListener(false);
        channels.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    // ---- for RelayConnection (read on event loops) ----

    long delayNanos() {
        return delayNanos;
    }

    Object upstreamResetMode() {
        return upstreamReset;
    }

    long upstreamResetBytes(Object mode) {
        return mode == null ? -1 : ((ResetSetting) mode).bytes;
    }

    /** Takes the armed one-shot response budget, if any: -1 when none is armed. */
    long claimNextResponseBudget() {
        return nextResponseBudget.get() < 0 ? -1 : nextResponseBudget.getAndSet(-1);
    }

    Duration idleTimeout() {
        return idleTimeout;
    }

    boolean blackholed() {
        return blackholed;
    }

    void opened(RelayConnection connection) {
        connections.add(connection);
    }

    void track(Channel channel) {
        channels.add(channel);
    }

    void countForwarded(boolean upstream, int bytes) {
        (upstream ? bytesUpstream : bytesDownstream).addAndGet(bytes);
    }

    void countReset() {
        resets.incrementAndGet();
    }

    void countIdleClose() {
        idleCloses.incrementAndGet();
    }

    /** Runs {@code action} on each open connection's event loop and waits for all of them. */
    private void forEachConnection(Consumer<RelayConnection> action) {
        List<io.netty.util.concurrent.Future<?>> done = new ArrayList<>();
        for (RelayConnection c : connections) {
            done.add(c.client().eventLoop().submit(() -> action.accept(c)));
        }
        done.forEach(f -> f.awaitUninterruptibly(5, TimeUnit.SECONDS));
    }
}
