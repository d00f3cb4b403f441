package dev.sluice.replay;

import dev.sluice.http.HopByHop;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;

/**
 * Sends recorded requests to a target, each at its time by the {@link Pacing}, at most
 * {@code concurrency} at once (a request due while all are busy waits for one to finish: the
 * replay falls behind rather than overrun the target), each ended after {@code timeout} whole
 * (connect, head and body). Netty's HTTP/1.1 client codec on keep-alive connections, kept in an
 * idle pool of at most {@code concurrency}.
 *
 * <p>What is sent: the recorded method, path, query, fields and body, to the target's scheme, host
 * and port. Not sent: the hop-by-hop fields (RFC 9110 §7.6.1, and those the recorded
 * {@code Connection} names) and the framing the new connection decides itself
 * ({@code Content-Length} from the body, {@code Transfer-Encoding}, {@code Expect}). {@code Host}
 * is the target's. Added: {@code x-sluice-replay: 1}, so the target (and its logs) can tell.
 */
final class Replayer implements AutoCloseable {
    static final String REPLAY_FIELD = "x-sluice-replay";
    /** Written for the new connection, never copied: the body's length, framing, and the target's Host. */
    private static final Set<String> NOT_COPIED = Set.of("host", "content-length", "transfer-encoding", "expect");
    /** RFC 9110 §8.6: these methods' requests carry a body by definition, so an empty one says length 0. */
    private static final Set<String> BODY_EXPECTED = Set.of("POST", "PUT", "PATCH");

    private final InetSocketAddress address;
    private final String hostField;
    private final Duration timeout;
    private final int concurrency;
    private final boolean allowUnsafe;
    private final EventLoopGroup loops;
    private final Bootstrap bootstrap;
    private final ConcurrentLinkedDeque<Channel> idle = new ConcurrentLinkedDeque<>();

    /**
     * @param address the target's address, resolved once: a replay compares one target, and name
     *                resolution on an event loop would block it
     */
    Replayer(URI target, InetSocketAddress address, Duration timeout, int concurrency, boolean allowUnsafe)
            throws SSLException {
        this.address = address;
        boolean https = target.getScheme().equalsIgnoreCase("https");
        int defaultPort = https ? 443 : 80;
        this.hostField = target.getHost() + (target.getPort() == -1 || target.getPort() == defaultPort ? "" : ":" + target.getPort());
        this.timeout = timeout;
        this.concurrency = concurrency;
        this.allowUnsafe = allowUnsafe;
        // Netty 4.2's client context verifies the certificate's name (endpoint identification HTTPS).
        Optional<SslContext> tls = https ? Optional.of(SslContextBuilder.forClient().build()) : Optional.empty();
        // Two loops at most: a replay is a client, and the target it measures may share the machine.
        this.loops = new MultiThreadIoEventLoopGroup(Math.min(2, Runtime.getRuntime().availableProcessors()),
                new DefaultThreadFactory("sluice-replay", true), NioIoHandler.newFactory());
        String sniHost = target.getHost();
        int port = address.getPort();
        this.bootstrap = new Bootstrap().group(loops).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        tls.ifPresent(t -> ch.pipeline().addLast(t.newHandler(ch.alloc(), sniHost, port)));
                        ch.pipeline().addLast(new HttpClientCodec(), new AnswerReader());
                    }
                });
    }

    /** Every entry's outcome, in the entries' order; returns when the last answer is in. */
    List<Outcome> replay(List<RecordedExchange> entries, Pacing pacing, Progress progress) throws InterruptedException {
        AtomicReferenceArray<Outcome> outcomes = new AtomicReferenceArray<>(entries.size());
        Semaphore slots = new Semaphore(concurrency);
        progress.start(entries.size());
        long began = System.nanoTime();
        Instant first = entries.isEmpty() ? Instant.EPOCH : entries.get(0).started();
        for (int i = 0; i < entries.size(); i++) {
            RecordedExchange entry = entries.get(i);
            if (!entry.safe() && !allowUnsafe) {
                outcomes.set(i, new Outcome.Skipped(entry, Outcome.SkipReason.UNSAFE));
                progress.done();
                continue;
            }
            if (entry.requestBodyTruncated()) {
                outcomes.set(i, new Outcome.Skipped(entry, Outcome.SkipReason.TRUNCATED_BODY));
                progress.done();
                continue;
            }
            long due = began + pacing.due(i, entry.started(), first).toNanos();
            for (long wait; (wait = due - System.nanoTime()) > 0; ) {
                LockSupport.parkNanos(wait);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
            slots.acquire();
            int index = i;
            new Attempt(entry, outcome -> {
                outcomes.set(index, outcome);
                progress.done();
                slots.release();
            }).start();
        }
        // Every slot back: every request sent has its outcome.
        slots.acquire(concurrency);
        progress.finish();
        List<Outcome> list = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            list.add(outcomes.get(i));
        }
        return list;
    }

    /** The request as it goes to the target; see the class comment for what is and is not copied. */
    FullHttpRequest request(RecordedExchange entry) {
        URI url = entry.url();
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        String target = path + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(entry.method()),
                target, Unpooled.wrappedBuffer(entry.body()));
        Set<String> namedByConnection = entry.headers().stream()
                .filter(h -> h.name().equalsIgnoreCase("connection"))
                .flatMap(h -> Arrays.stream(h.value().split(",")))
                .map(token -> token.trim().toLowerCase(Locale.ROOT))
                .collect(Collectors.toSet());
        request.headers().set(HttpHeaderNames.HOST, hostField);
        for (RecordedExchange.Header header : entry.headers()) {
            String name = header.name().toLowerCase(Locale.ROOT);
            if (!HopByHop.is(name) && !NOT_COPIED.contains(name) && !namedByConnection.contains(name)
                    && !name.equals(REPLAY_FIELD)) {
                request.headers().add(header.name(), header.value());
            }
        }
        if (entry.body().length > 0 || BODY_EXPECTED.contains(entry.method().toUpperCase(Locale.ROOT))) {
            request.headers().set(HttpHeaderNames.CONTENT_LENGTH, entry.body().length);
        }
        request.headers().set(REPLAY_FIELD, "1");
        return request;
    }

    @Override
    public void close() {
        loops.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /**
     * One request's way to its outcome. The deadline may fire on any thread; whichever ends the
     * attempt first (the answer, a failure, the deadline) claims it, and the others find it done.
     */
    private final class Attempt {
        private final RecordedExchange entry;
        private final Consumer<Outcome> report;
        private final long began = System.nanoTime();
        private final AtomicBoolean ended = new AtomicBoolean();
        private final ScheduledFuture<?> deadline;
        private volatile boolean connected;
        private volatile Channel channel;
        private boolean retried;
        // Read and written on the channel's event loop only.
        private MessageDigest sha256;
        private int status;
        private boolean interim;
        private boolean answerStarted;
        private boolean keepAlive;
        private boolean reused;

        Attempt(RecordedExchange entry, Consumer<Outcome> report) {
            this.entry = entry;
            this.report = report;
            this.deadline = loops.next().schedule(this::expire, timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        void start() {
            for (Channel pooled; (pooled = idle.pollLast()) != null; ) {
                if (pooled.isActive()) {
                    use(pooled, true);
                    return;
                }
            }
            connect();
        }

        private void connect() {
            ChannelFuture connecting = bootstrap.connect(address);
            channel = connecting.channel();
            connecting.addListener(done -> {
                if (done.isSuccess()) {
                    use(connecting.channel(), false);
                } else {
                    fail(ReplayFailure.of(done.cause()), done.cause());
                }
            });
        }

        private void use(Channel c, boolean pooled) {
            channel = c;
            connected = true;
            c.eventLoop().execute(() -> {
                if (ended.get()) {
                    return;
                }
                reused = pooled;
                sha256 = sha256();
                status = 0;
                interim = false;
                answerStarted = false;
                c.pipeline().get(AnswerReader.class).attempt = this;
                c.writeAndFlush(request(entry)).addListener(written -> {
                    if (!written.isSuccess()) {
                        failed(written.cause());
                    }
                });
            });
        }

        /** A head or a piece of the body, on the channel's loop. */
        void read(Object message) {
            if (message instanceof HttpResponse head) {
                if (head.decoderResult().isFailure()) {
                    fail(ReplayFailure.BAD_RESPONSE, head.decoderResult().cause());
                    return;
                }
                answerStarted = true;
                int code = head.status().code();
                // RFC 9110 §15.2: 1xx are interim; the final answer follows on the same exchange.
                interim = code >= 100 && code < 200 && code != 101;
                if (!interim) {
                    status = code;
                    keepAlive = HttpUtil.isKeepAlive(head) && code != 101;
                }
            }
            if (message instanceof HttpContent piece && !interim) {
                for (ByteBuffer part : piece.content().nioBuffers()) {
                    sha256.update(part);
                }
            }
            if (message instanceof LastHttpContent) {
                if (interim) {
                    interim = false;
                } else {
                    answered();
                }
            }
        }

        private void answered() {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            deadline.cancel(false);
            Channel c = channel;
            c.pipeline().get(AnswerReader.class).attempt = null;
            // Back in the pool before the slot is free, so the next request finds it.
            if (keepAlive && c.isActive()) {
                idle.offerLast(c);
            } else {
                c.close();
            }
            report.accept(new Outcome.Answered(entry, status, System.nanoTime() - began,
                    HexFormat.of().formatHex(sha256.digest())));
        }

        /**
         * The connection failed under this request. On a reused connection before any byte of the
         * answer, that is the keep-alive race (the target closed it as it sat idle), not the target
         * failing this request: a safe request is sent once more, on a new connection.
         */
        void failed(Throwable cause) {
            if (reused && !answerStarted && !retried && entry.safe() && !ended.get()) {
                retried = true;
                reused = false;
                channel.pipeline().get(AnswerReader.class).attempt = null;
                channel.close();
                connect();
                return;
            }
            fail(cause == null ? ReplayFailure.CLOSED : ReplayFailure.of(cause), cause);
        }

        private void fail(ReplayFailure kind, Throwable cause) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            deadline.cancel(false);
            Channel c = channel;
            if (c != null) {
                AnswerReader reader = c.pipeline().get(AnswerReader.class);
                if (reader != null) {
                    reader.attempt = null;
                }
                c.close();
            }
            report.accept(new Outcome.Failed(entry, kind, System.nanoTime() - began, describe(kind, cause)));
        }

        private void expire() {
            fail(connected ? ReplayFailure.RESPONSE_TIMEOUT : ReplayFailure.CONNECT_TIMEOUT, null);
        }

        private String describe(ReplayFailure kind, Throwable cause) {
            if (cause == null) {
                return switch (kind) {
                    case RESPONSE_TIMEOUT -> "no whole response within " + timeout.toMillis() + " ms";
                    case CONNECT_TIMEOUT -> "no connection within " + timeout.toMillis() + " ms";
                    case CLOSED -> "the target closed the connection before the response was whole";
                    default -> kind.label();
                };
            }
            return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
        }
    }

    /** The last handler of a replay connection: hands what the codec decoded to the attempt it belongs to. */
    private static final class AnswerReader extends ChannelInboundHandlerAdapter {
        /** Set on the loop when a request is written; cleared by whichever ends it, on any thread. */
        volatile Attempt attempt;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (attempt != null) {
                    attempt.read(msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (attempt != null) {
                attempt.failed(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (attempt != null) {
                attempt.failed(cause);
            } else {
                ctx.close();
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
