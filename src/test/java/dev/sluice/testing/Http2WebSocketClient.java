package dev.sluice.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket client over HTTP/2 (RFC 8441) built from Netty's client codec: one h2c connection
 * (prior knowledge), and per {@link #open} an extended CONNECT stream whose DATA frames carry
 * WebSocket frames (Netty's RFC 6455 encoder, masking, and decoder). What comes back on a
 * stream is queued: its response head, its text messages, its end (a close frame, END_STREAM or
 * a reset).
 */
public final class Http2WebSocketClient implements AutoCloseable {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel connection;
    private final CompletableFuture<Http2Settings> serverSettings = new CompletableFuture<>();

    private Http2WebSocketClient(InetSocketAddress address) throws InterruptedException {
        connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        if (msg instanceof Http2SettingsFrame settings) {
                                            serverSettings.complete(settings.settings());
                                        }
                                        ReferenceCountUtil.release(msg);
                                    }
                                });
                    }
                })
                .connect(address).sync().channel();
    }

    /** Connects with HTTP/2's preface (h2c) and waits for the server's SETTINGS. */
    public static Http2WebSocketClient connect(InetSocketAddress address) throws Exception {
        Http2WebSocketClient client = new Http2WebSocketClient(address);
        try {
            client.serverSettings.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            return client;
        } catch (Exception e) {
            client.close();
            throw e;
        }
    }

    /** The server's first SETTINGS. */
    public Http2Settings serverSettings() throws Exception {
        return serverSettings.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** An extended CONNECT for a WebSocket on {@code path}. */
    public static Http2Headers webSocketConnect(String authority, String path) {
        Http2Headers head = new DefaultHttp2Headers(false);
        head.method("CONNECT").scheme("http").path(path).authority(authority);
        head.set(":protocol", "websocket");
        head.add("sec-websocket-version", "13");
        return head;
    }

    /** Opens a stream and sends {@code head} (no END_STREAM). */
    public Stream open(Http2Headers head) throws Exception {
        Stream stream = new Stream();
        Http2StreamChannel channel = new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new DataFrames(), new WebSocket13FrameDecoder(false, true, 1 << 20),
                        new WebSocket13FrameEncoder(true), stream.collector);
            }
        }).open().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        stream.channel = channel;
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(head, false)).sync();
        return stream;
    }

    /** One extended CONNECT stream. */
    public static final class Stream {
        private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private Channel channel;
        private final ChannelInboundHandlerAdapter collector = new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame headers) {
                    events.add(headers.headers());
                } else if (msg instanceof TextWebSocketFrame text) {
                    events.add(text.text());
                } else if (msg instanceof Http2ResetFrame reset) {
                    events.add(reset);
                } else if (msg instanceof CloseWebSocketFrame close) {
                    events.add(close.statusCode());
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                // Netty's multiplexer hands a stream its RST_STREAM as an event.
                if (event instanceof Http2ResetFrame reset) {
                    events.add(reset);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                events.add(Ended.INSTANCE);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                events.add(cause);
            }
        };

        /** The stream ended (END_STREAM both ways, a reset, or the connection closed). */
        public enum Ended { INSTANCE }

        /** The next thing that came back: the response's {@link Http2Headers}, a text message, a close code, an {@link Http2ResetFrame}, {@link Ended}. */
        public Object next() throws InterruptedException {
            Object event = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            if (event == null) {
                throw new AssertionError("nothing came back on the stream within " + WAIT);
            }
            return event;
        }

        /** The response's head (the first thing back), or fails with what came instead. */
        public Http2Headers response() throws InterruptedException {
            Object first = next();
            if (first instanceof Http2Headers head) {
                return head;
            }
            throw new AssertionError("expected the response's HEADERS, got " + first);
        }

        /** Sends {@code text} as a WebSocket message and returns the next message back. */
        public String echo(String text) throws InterruptedException {
            channel.writeAndFlush(new TextWebSocketFrame(text)).syncUninterruptibly();
            Object back = next();
            if (back instanceof String message) {
                return message;
            }
            throw new AssertionError("expected a text message back, got " + back);
        }

        /** What came back until the stream ended, the end included. */
        public List<Object> untilEnd() throws InterruptedException {
            List<Object> seen = new java.util.ArrayList<>();
            Object event;
            do {
                event = next();
                seen.add(event);
            } while (event != Ended.INSTANCE);
            return seen;
        }
    }

    /** WebSocket bytes as DATA frames out, DATA frames' bytes in; other frames pass. */
    private static final class DataFrames extends MessageToMessageCodec<Http2DataFrame, ByteBuf> {
        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf bytes, List<Object> out) {
            out.add(new DefaultHttp2DataFrame(bytes.retain(), false));
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, Http2DataFrame frame, List<Object> out) {
            if (frame.content().isReadable()) {
                out.add(frame.content().retain());
            }
        }
    }

    @Override
    public void close() {
        connection.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
