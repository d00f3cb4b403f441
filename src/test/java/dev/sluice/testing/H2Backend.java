package dev.sluice.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 backend for tests, on Netty's server codec: h2c by prior knowledge, or TLS with ALPN
 * {@code h2}. Each request is answered once its END_STREAM came: status 200, its method, path,
 * authority, scheme and {@code te} in {@code x-seen-*} fields, its body echoed back, and, when the
 * request had trailers, the same trailers and {@code x-body-length}. Every request it answered
 * is recorded ({@link #seen}). A request for {@code /die} closes its connection instead of an
 * answer (counted in {@link #deaths}). A gRPC call to {@code /test.Cut/*} is answered with three
 * gRPC messages ("1", "2", "3") and then cut ({@link #cutGrpcCall}). It can limit its concurrent streams, and send GOAWAY
 * refusing the N-th stream of each connection (then closing once the streams below it are answered). PINGs are
 * counted ({@link #pings}); its first connections can go silent ({@link #silentFirst}), or its answers wait for a
 * PING ({@link #answeringOncePinged}).
 */
public final class H2Backend implements AutoCloseable {
    /** One request as the backend read it. */
    public record Seen(String method, String path, String authority, Map<String, String> fields, byte[] body,
                       Map<String, String> trailers) {
        public String bodyString() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger deaths = new AtomicInteger();
    private final AtomicInteger pings = new AtomicInteger();
    private final int goAwayAtStream;
    private final long answerDelayMillis;
    private final int silentConnections;
    private final boolean answerOncePinged;

    /** What one connection has seen and how it behaves. */
    private static final class Peer {
        final boolean silent;
        final java.util.concurrent.CompletableFuture<Void> pinged = new java.util.concurrent.CompletableFuture<>();

        Peer(boolean silent) {
            this.silent = silent;
        }
    }

    private H2Backend(SslContext tls, long maxConcurrentStreams, int goAwayAtStream, long answerDelayMillis) {
        this(tls, maxConcurrentStreams, goAwayAtStream, answerDelayMillis, 0, false);
    }

    private H2Backend(SslContext tls, long maxConcurrentStreams, int goAwayAtStream, long answerDelayMillis,
                      int silentConnections, boolean answerOncePinged) {
        this.goAwayAtStream = goAwayAtStream;
        this.answerDelayMillis = answerDelayMillis;
        this.silentConnections = silentConnections;
        this.answerOncePinged = answerOncePinged;
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Peer peer = new Peer(connections.incrementAndGet() <= silentConnections);
                        openConnections.incrementAndGet();
                        ch.closeFuture().addListener(closed -> openConnections.decrementAndGet());
                        Http2Settings settings = Http2Settings.defaultSettings();
                        if (maxConcurrentStreams > 0) {
                            settings.maxConcurrentStreams(maxConcurrentStreams);
                        }
                        // A silent connection answers nothing once its SETTINGS went out, PINGs included.
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().initialSettings(settings)
                                .autoAckPingFrame(!peer.silent).build();
                        AtomicInteger streams = new AtomicInteger();
                        ChannelHandler[] http2 = {codec, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel stream) {
                                stream.pipeline().addLast(new Answer(codec, streams.incrementAndGet(), peer));
                            }
                        }), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Http2PingFrame ping && !ping.ack()) {
                                    pings.incrementAndGet();
                                    peer.pinged.complete(null);
                                }
                                ReferenceCountUtil.release(msg);
                            }

                            // A client that resets its connection (a TLS health check closing as this
                            // backend's close_notify arrives) ends it: no warning with a stack trace.
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                if (cause instanceof java.io.IOException) {
                                    ctx.close();
                                } else {
                                    ctx.fireExceptionCaught(cause);
                                }
                            }
                        }};
                        if (tls == null) {
                            ch.pipeline().addLast(http2);
                            return;
                        }
                        // Over TLS the HTTP/2 handlers come once the handshake chose h2, as a real
                        // server's do: SETTINGS written earlier would wait in the TLS handler, and a
                        // client gone mid-handshake (a gateway closing) left them for the leak detector.
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()),
                                new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_2) {
                                    @Override
                                    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                        ctx.pipeline().addLast(http2);
                                    }
                                });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    /** h2c by prior knowledge. */
    public static H2Backend cleartext() {
        return new H2Backend(null, 0, 0, 0);
    }

    /** h2c, allowing {@code maxConcurrentStreams} streams per connection, each answered after {@code answerDelayMillis}. */
    public static H2Backend cleartext(long maxConcurrentStreams, long answerDelayMillis) {
        return new H2Backend(null, maxConcurrentStreams, 0, answerDelayMillis);
    }

    /** h2c, sending GOAWAY that refuses the {@code n}-th stream of each connection, which then closes. */
    public static H2Backend goingAwayAtStream(int n) {
        return new H2Backend(null, 0, n, 0);
    }

    /**
     * h2c whose first {@code n} connections go silent once their SETTINGS are exchanged, as a
     * connection a NAT forgot: no answer to a request, no ACK to a PING, no close. Later
     * connections answer as {@link #cleartext()}.
     */
    public static H2Backend silentFirst(int n) {
        return new H2Backend(null, 0, 0, 0, n, false);
    }

    /** h2c that answers a request only once its connection has had a PING (answered at once, as always). */
    public static H2Backend answeringOncePinged() {
        return new H2Backend(null, 0, 0, 0, 0, true);
    }

    /** h2 over TLS with {@code certificate}, chosen by ALPN. */
    public static H2Backend tls(TestCertificates.Issued certificate) throws Exception {
        SslContext context = SslContextBuilder.forServer(certificate.key(), certificate.certificate())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
        return new H2Backend(context, 0, 0, 0);
    }

    public String authority() {
        return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    public List<Seen> seen() {
        return seen;
    }

    /** Requests for {@code /die}, each answered by closing its connection. */
    public int deaths() {
        return deaths.get();
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** PINGs received (not ACKs), on every connection. */
    public int pings() {
        return pings.get();
    }

    /** Connections accepted and not yet closed. */
    public int openConnections() {
        return openConnections.get();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Answer extends ChannelInboundHandlerAdapter {
        private final Http2FrameCodec codec;
        private final int ordinal;
        private final Peer peer;
        private Http2Headers head;
        private Http2Headers trailers;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        Answer(Http2FrameCodec codec, int ordinal, Peer peer) {
            this.codec = codec;
            this.ordinal = ordinal;
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean end = false;
            if (peer.silent) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof Http2HeadersFrame frame) {
                if (head == null) {
                    head = frame.headers();
                    if (ordinal == goAwayAtStream) {
                        refuseFromHere(ctx, frame.stream().id());
                        return;
                    }
                } else {
                    trailers = frame.headers();
                }
                end = frame.isEndStream();
            } else if (msg instanceof Http2DataFrame frame) {
                ByteBuf data = frame.content();
                body.writeBytes(ByteBufUtil.getBytes(data));
                end = frame.isEndStream();
            }
            ReferenceCountUtil.release(msg);
            if (end && "/die".equals(String.valueOf(head.path()))) {
                deaths.incrementAndGet();
                ctx.channel().parent().close();
                return;
            }
            if (end && String.valueOf(head.path()).startsWith("/test.Cut/")) {
                cutGrpcCall(ctx, String.valueOf(head.path()).substring("/test.Cut/".length()));
                return;
            }
            if (end && answerOncePinged) {
                peer.pinged.thenRun(() -> ctx.executor().execute(() -> answer(ctx)));
                return;
            }
            if (end) {
                if (answerDelayMillis > 0) {
                    ctx.executor().schedule(() -> answer(ctx), answerDelayMillis, TimeUnit.MILLISECONDS);
                } else {
                    answer(ctx);
                }
            }
        }

        /** GOAWAY whose last stream is the one before {@code streamId}: this stream and later ones are refused. */
        private void refuseFromHere(ChannelHandlerContext ctx, int streamId) {
            Channel parent = ctx.channel().parent();
            ChannelHandlerContext codecContext = parent.pipeline().context(codec);
            codec.goAway(codecContext, streamId - 2, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER,
                    codecContext.newPromise());
            codecContext.flush();
            // A graceful close: the streams below the last one are answered first.
            parent.close();
        }

        /**
         * A gRPC response of three messages, then, by {@code how}: {@code Close} closes the
         * connection (its output first, so every byte sent arrives before the end), {@code Mid}
         * does so within a fourth message (its 5-byte prefix declares 10 bytes, 4 follow),
         * {@code Reset} resets the stream (INTERNAL_ERROR). No trailers in any case.
         */
        private void cutGrpcCall(ChannelHandlerContext ctx, String how) {
            ByteBuf messages = Unpooled.buffer();
            for (String text : List.of("1", "2", "3")) {
                messages.writeByte(0).writeInt(text.length()).writeBytes(text.getBytes(StandardCharsets.US_ASCII));
            }
            if (how.equals("Mid")) {
                messages.writeByte(0).writeInt(10).writeBytes(new byte[] {'4', '4', '4', '4'});
            }
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
                    .add("content-type", "application/grpc"), false));
            // Cut once the DATA is on the wire: a RST_STREAM, not flow-controlled, would overtake it.
            ctx.writeAndFlush(new DefaultHttp2DataFrame(messages, false)).addListener(written -> {
                if (how.equals("Reset")) {
                    ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
                } else {
                    ((DuplexChannel) ctx.channel().parent()).shutdownOutput();
                }
            });
        }

        private void answer(ChannelHandlerContext ctx) {
            byte[] bytes = body.toByteArray();
            Map<String, String> fields = new java.util.LinkedHashMap<>();
            head.forEach(e -> fields.put(e.getKey().toString(), e.getValue().toString()));
            Map<String, String> trailing = new java.util.LinkedHashMap<>();
            if (trailers != null) {
                trailers.forEach(e -> trailing.put(e.getKey().toString(), e.getValue().toString()));
            }
            seen.add(new Seen(String.valueOf(head.method()), String.valueOf(head.path()), String.valueOf(head.authority()),
                    fields, bytes, trailing));
            Http2Headers response = new DefaultHttp2Headers().status("200")
                    .add("content-type", "text/plain")
                    .add("x-seen-method", String.valueOf(head.method()))
                    .add("x-seen-path", String.valueOf(head.path()))
                    .add("x-seen-authority", String.valueOf(head.authority()))
                    .add("x-seen-scheme", String.valueOf(head.scheme()))
                    .add("x-seen-te", String.valueOf(head.get("te")));
            boolean bodyless = bytes.length == 0 && trailers == null;
            ctx.write(new DefaultHttp2HeadersFrame(response, bodyless));
            if (!bodyless) {
                ctx.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(bytes), trailers == null));
            }
            if (trailers != null) {
                Http2Headers echoed = new DefaultHttp2Headers();
                trailers.forEach(e -> echoed.add(e.getKey(), e.getValue()));
                echoed.add("x-body-length", String.valueOf(bytes.length));
                ctx.write(new DefaultHttp2HeadersFrame(echoed, true));
            }
            ctx.flush();
        }
    }
}
