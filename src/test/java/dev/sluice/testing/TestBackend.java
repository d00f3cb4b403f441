package dev.sluice.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process HTTP/1.1 origin on a loopback port, with programmable behaviour, that records every
 * request it receives: the far side of the proxy in integration tests.
 *
 * <pre>{@code
 * try (TestBackend backend = TestBackend.start(BackendHandlers.echo())) {
 *     // point Sluice at backend.authority(), send through it, then:
 *     RecordedRequest r = backend.awaitRequests(1, Duration.ofSeconds(5)).get(0);
 * }
 * }</pre>
 *
 * <p>Built on Netty's {@code HttpServerCodec} without aggregation: request bodies stream through SHA-256
 * (kept byte for byte only up to {@link Builder#recordBodyLimit(int)}), so 256 MiB uploads need no heap.
 * The decoder is Netty's strict default; a request it rejects is answered 400, the connection closed, and
 * the request recorded with a {@link RecordedRequest#failure()}. Requests on one connection are handled
 * one at a time, in order. Handler exceptions are answered 500 and kept in {@link #handlerErrors()}.
 */
public final class TestBackend implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel server;
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Duration idleTimeout;
    private final int keepAliveTimeoutSeconds;
    private final int recordBodyLimit;
    private final int recordLimit;
    private volatile BackendHandler handler;

    private final List<RecordedRequest> requests = new ArrayList<>(); // the first recordLimit; guarded by itself
    private int requestCount;                                          // guarded by requests
    private RecordedRequest lastRequest;                               // guarded by requests
    private final List<Throwable> errors = new ArrayList<>();
    private final AtomicLong connectionsAccepted = new AtomicLong();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicLong bytesReceived = new AtomicLong();
    /** {@link #awaitQueuedConnections} probes not yet taken, by their local address. */
    private final Map<InetSocketAddress, CountDownLatch> probes = new ConcurrentHashMap<>();
    private final int threads;

    /** The server side of TLS, or null for cleartext. */
    private final io.netty.handler.ssl.SslContext tls;

    private TestBackend(Builder b) {
        this.handler = b.handler;
        this.tls = b.tls;
        this.idleTimeout = b.idleTimeout;
        this.keepAliveTimeoutSeconds = b.keepAliveTimeoutSeconds;
        this.recordBodyLimit = b.recordBodyLimit;
        this.recordLimit = b.recordLimit;
        this.threads = b.threads;
        this.group = new MultiThreadIoEventLoopGroup(b.threads, new DefaultThreadFactory("test-backend", true),
                NioIoHandler.newFactory());
        try {
            this.server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    // Load tests open hundreds of connections at once; the default backlog would refuse some.
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            initConnection(ch);
                        }
                    })
                    .bind(b.bindTo)
                    .syncUninterruptibly()
                    .channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly();
            throw e;
        }
    }

    /** Starts a backend on a free loopback port with default options. */
    public static TestBackend start(BackendHandler handler) {
        return builder().handler(handler).start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a {@link TestBackend}; every one has a usable default. */
    public static final class Builder {
        private BackendHandler handler = BackendHandlers.status(200);
        private Duration idleTimeout;
        private int keepAliveTimeoutSeconds;
        // 1 MiB: enough for every header/body assertion, small enough that uploads are never held.
        private int recordBodyLimit = 1024 * 1024;
        // 10 000: far more than any assertion reads, and a long load run cannot exhaust the test heap.
        private int recordLimit = 10_000;
        private int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private io.netty.handler.ssl.SslContext tls;

        private InetSocketAddress bindTo = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

        private Builder() {}

        /** Listens there rather than on a free loopback port (another loopback address, the same port: another host of one name). */
        public Builder bindTo(InetSocketAddress address) {
            this.bindTo = address;
            return this;
        }

        public Builder handler(BackendHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Closes a connection that has been idle between requests for {@code idle}, without announcing it. */
        public Builder idleTimeout(Duration idle) {
            this.idleTimeout = idle;
            return this;
        }

        /**
         * Announces {@code Keep-Alive: timeout=N} on every keep-alive response and really closes connections
         * idle for N seconds, as Node.js (5 s) and Apache do. The proxy can learn the timeout from it.
         */
        public Builder keepAliveTimeout(int seconds) {
            if (seconds <= 0) {
                throw new IllegalArgumentException("seconds must be positive");
            }
            this.keepAliveTimeoutSeconds = seconds;
            this.idleTimeout = Duration.ofSeconds(seconds);
            return this;
        }

        /** Bodies longer than this are recorded only as SHA-256 and length. */
        public Builder recordBodyLimit(int bytes) {
            this.recordBodyLimit = bytes;
            return this;
        }

        /** Keeps only the first {@code n} requests in {@link #requests()}; later ones are counted, not kept. */
        public Builder recordLimit(int n) {
            this.recordLimit = n;
            return this;
        }

        /** Serves HTTPS with {@code context} (its certificate, and whether it asks for a client's). */
        public Builder tls(io.netty.handler.ssl.SslContext context) {
            this.tls = context;
            return this;
        }

        public Builder eventLoopThreads(int threads) {
            this.threads = threads;
            return this;
        }

        public TestBackend start() {
            return new TestBackend(this);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    /** {@code 127.0.0.1:PORT}, as written in a Sluice config's endpoint list. */
    public String authority() {
        return address().getAddress().getHostAddress() + ":" + port();
    }

    /** {@code http://127.0.0.1:PORT} followed by {@code pathAndQuery}. */
    public URI uri(String pathAndQuery) {
        return URI.create("http://" + authority() + pathAndQuery);
    }

    /** Replaces the behaviour for requests from now on (connections stay open). */
    public void handler(BackendHandler handler) {
        this.handler = Objects.requireNonNull(handler, "handler");
    }

    /** A snapshot of the requests received so far, in the order they ended (the first {@link Builder#recordLimit}). */
    public List<RecordedRequest> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /** Requests received so far, including any past the record limit. */
    public int requestCount() {
        synchronized (requests) {
            return requestCount;
        }
    }

    /** The latest request received, or null. */
    public RecordedRequest lastRequest() {
        synchronized (requests) {
            return lastRequest;
        }
    }

    /** Waits until at least {@code n} requests were received and returns the recorded ones. */
    public List<RecordedRequest> awaitRequests(int n, Duration timeout) {
        Await.until(timeout, () -> requestCount() >= n, () -> "backend to receive " + n + " request(s), got " + requestCount());
        return requests();
    }

    /** Forgets the requests received so far; {@link #requestCount()} starts again from 0. */
    public void clearRequests() {
        synchronized (requests) {
            requests.clear();
            requestCount = 0;
            lastRequest = null;
        }
    }

    public long connectionsAccepted() {
        return connectionsAccepted.get();
    }

    public int openConnections() {
        return openConnections.get();
    }

    /** Raw bytes read from all connections: 0 proves nothing at all reached the backend. */
    public long bytesReceived() {
        return bytesReceived.get();
    }

    /** Exceptions thrown by handlers (each was answered 500); a test can assert this stays empty. */
    public List<Throwable> handlerErrors() {
        synchronized (errors) {
            return List.copyOf(errors);
        }
    }

    /**
     * Returns once every connection opened to this backend before the call has been accepted, that
     * is counted in {@link #openConnections()} and {@link #connectionsAccepted()}. A connection whose
     * handshake the kernel completed waits in the listen queue until the backend's loop takes it:
     * until then nothing here counts it, though its client may have sent a whole request and closed
     * (its bytes wait with it). The queue is first in, first out, so a probe connection taken after
     * it proves it was taken; a task on every loop then proves it was registered, where it is counted.
     * The probe itself is closed at once and counted nowhere.
     */
    public void awaitQueuedConnections(Duration timeout) {
        CountDownLatch taken = new CountDownLatch(1);
        InetSocketAddress from = null;
        try (Socket probe = new Socket()) {
            probe.bind(new InetSocketAddress(address().getAddress(), 0));
            from = (InetSocketAddress) probe.getLocalSocketAddress();
            probes.put(from, taken);
            probe.connect(address(), (int) timeout.toMillis());
            if (!taken.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the backend did not accept a probe connection within " + timeout);
            }
            for (EventExecutor loop : group) {
                loop.submit(() -> { }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (IOException | ExecutionException | TimeoutException e) {
            throw new AssertionError("probing the backend's listen queue", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } finally {
            if (from != null) {
                probes.remove(from);
            }
        }
    }

    /**
     * Keeps every event loop of the backend busy until closed, as a loaded machine can: connections
     * made meanwhile wait in the kernel's listen queue, accepted by no one and counted nowhere.
     */
    public Hold hold() {
        Hold hold = new Hold();
        CountDownLatch busy = new CountDownLatch(threads);
        for (EventExecutor loop : group) {
            loop.execute(() -> {
                busy.countDown();
                hold.awaitRelease();
            });
        }
        try {
            busy.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            hold.close();
            throw new AssertionError("interrupted", e);
        }
        return hold;
    }

    /** The backend's loops held busy by {@link #hold()}; closing releases them. */
    public static final class Hold implements AutoCloseable {
        private final CountDownLatch release = new CountDownLatch(1);

        private void awaitRelease() {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            release.countDown();
        }
    }

    /** Closes every open connection (FIN), as a restarting backend would; the listener stays open. */
    public void closeAllConnections() {
        channels.close().awaitUninterruptibly();
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly();
        channels.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    // ---- package-private, for BackendConnection and BackendExchange ----

    BackendHandler handler() {
        return handler;
    }

    Duration idleTimeout() {
        return idleTimeout;
    }

    int keepAliveTimeoutSeconds() {
        return keepAliveTimeoutSeconds;
    }

    int recordBodyLimit() {
        return recordBodyLimit;
    }

    void record(RecordedRequest request) {
        synchronized (requests) {
            if (requests.size() < recordLimit) {
                requests.add(request);
            }
            requestCount++;
            lastRequest = request;
        }
    }

    void recordError(Throwable error) {
        synchronized (errors) {
            errors.add(error);
        }
    }

    /** Runs handler code; if it throws, records the error and answers 500 (or closes, if a response began). */
    void guard(BackendExchange ex, Runnable action) {
        try {
            action.run();
        } catch (Throwable t) {
            recordError(t);
            try {
                if (!ex.finalStarted()) {
                    ex.closeAfterResponse();
                    ex.respond(500, "test backend handler failed: " + t + "\n");
                } else {
                    ex.closeConnection();
                }
            } catch (Throwable secondary) {
                t.addSuppressed(secondary);
            }
        }
    }

    private void initConnection(SocketChannel ch) {
        CountDownLatch probe = probes.remove(ch.remoteAddress());
        if (probe != null) {
            ch.close();
            probe.countDown();
            return;
        }
        long id = connectionsAccepted.incrementAndGet();
        openConnections.incrementAndGet();
        ch.closeFuture().addListener(f -> openConnections.decrementAndGet());
        channels.add(ch);
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(16 * 1024)
                .setMaxHeaderSize(64 * 1024)
                .setMaxChunkSize(64 * 1024);
        ChannelPipeline p = ch.pipeline();
        if (tls != null) {
            // AUTO_READ is off for flow control: the handshake reads on its own (SslHandler asks when needed).
            p.addLast("tls", tls.newHandler(ch.alloc()));
        }
        p.addLast("bytes", new ByteCounter());
        p.addLast("codec", new HttpServerCodec(decoder));
        p.addLast("flow", new FlowControlHandler());
        p.addLast("chunked", new ChunkedWriteHandler());
        p.addLast("backend", new BackendConnection(this, id));
    }

    /** Counts raw bytes read, before any decoding. */
    private final class ByteCounter extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf) {
                bytesReceived.addAndGet(buf.readableBytes());
            }
            ctx.fireChannelRead(msg);
        }
    }
}
