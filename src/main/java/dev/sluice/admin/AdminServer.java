package dev.sluice.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sluice.config.AdminConfig;
import dev.sluice.config.HostPort;
import dev.sluice.failure.IoErrors;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API on its own listener and its own thread, so a saturated data plane never hides
 * the health and status endpoints. Handlers run off the event loop (they may read files or wait
 * for a reload), and answers are written back when ready.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    /** 1 MiB: large enough for a config pushed with POST /config, small enough to bound memory. */
    private static final int MAX_BODY = 1024 * 1024;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The exposition format Prometheus scrapes. */
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final AdminResponse USE_GET = AdminResponse.text(405, "use GET\n");

    /** What the admin API reads of the running instance: its health, its status, its metrics. */
    public interface Observed {
        /**
         * Why {@code /ready} answers 503 now, as its body's line ({@code draining} from the moment a
         * drain starts, so balancers stop sending); empty when it answers 200 {@code ready}.
         */
        Optional<String> notReady();

        Status status();

        /** The gateway's counters in Prometheus text format. */
        String metrics();

        /** {@code GET /incidents}: the open incidents and the recently closed, newest first. */
        default Map<String, Object> incidents() {
            return Map.of("open", java.util.List.of(), "recent", java.util.List.of());
        }
    }

    /** The endpoints beyond those of {@link Observed}: the control plane's ({@code ControlApi}). */
    public interface Endpoints {
        /** The answer, or empty when there is no such endpoint. */
        Optional<AdminResponse> handle(HttpMethod method, String path, Map<String, String> query, String body);

        /** These endpoints first, then {@code next}'s for a path none of these has. */
        default Endpoints orElse(Endpoints next) {
            return (method, path, query, body) -> handle(method, path, query, body)
                    .or(() -> next.handle(method, path, query, body));
        }
    }

    /** A JSON or text answer, with any fields beyond {@code Content-Type} and {@code Content-Length}. */
    public record AdminResponse(int status, String contentType, String body, Map<String, String> fields) {
        public AdminResponse(int status, String contentType, String body) {
            this(status, contentType, body, Map.of());
        }

        public static AdminResponse json(int status, Object value) {
            try {
                return new AdminResponse(status, "application/json", JSON.writeValueAsString(value) + "\n");
            } catch (Exception e) {
                return new AdminResponse(500, "text/plain", "cannot render: " + e + "\n");
            }
        }

        public static AdminResponse text(int status, String text) {
            return new AdminResponse(status, "text/plain; charset=utf-8", text);
        }
    }

    private final EventLoopGroup group;
    private final Channel channel;

    private AdminServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Loopback without a token (tests, the demo). */
    public static AdminServer start(HostPort address, Observed observed, Endpoints endpoints) throws InterruptedException {
        return start(new AdminConfig(address), observed, endpoints);
    }

    /** On {@code config.address()}, each request checked by the {@link AdminGuard} of {@code config}. */
    public static AdminServer start(AdminConfig config, Observed observed, Endpoints endpoints) throws InterruptedException {
        HostPort address = config.address();
        AdminGuard guard = AdminGuard.of(config);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-admin", true),
                NioIoHandler.newFactory());
        try {
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY),
                                    new Handler(guard, observed, endpoints));
                        }
                    })
                    .bind(address.toSocketAddress()).sync().channel();
            LOG.info("admin API on {}", channel.localAddress());
            return new AdminServer(group, channel);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("cannot listen on " + address + " (admin): " + IoErrors.describe(e), e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final AdminGuard guard;
        private final Observed observed;
        private final Endpoints endpoints;

        Handler(AdminGuard guard, Observed observed, Endpoints endpoints) {
            this.guard = guard;
            this.observed = observed;
            this.endpoints = endpoints;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpMethod method = request.method();
            QueryStringDecoder uri = new QueryStringDecoder(request.uri());
            if (guard.check(method, uri.path(), request.headers()) instanceof AdminGuard.Verdict.Refused refused) {
                LOG.warn("admin: refused {} {} from {}: {}", method, uri.path(), ctx.channel().remoteAddress(),
                        refused.status());
                write(ctx, AdminResponse.text(refused.status(), refused.body()), refused.challenge(), keepAlive);
                return;
            }
            String body = request.content().toString(StandardCharsets.UTF_8);
            Map<String, String> query = new java.util.HashMap<>();
            uri.parameters().forEach((k, v) -> query.put(k, v.isEmpty() ? "" : v.get(0)));
            // Off the admin event loop: reloads and rollbacks validate files and may take a while.
            CompletableFuture.supplyAsync(() -> route(method, uri.path(), query, body))
                    .exceptionally(e -> AdminResponse.text(500, "admin error: " + e.getMessage() + "\n"))
                    .thenAccept(answer -> ctx.executor().execute(() -> write(ctx, answer, Optional.empty(), keepAlive)));
        }

        private AdminResponse route(HttpMethod method, String path, Map<String, String> query, String body) {
            boolean get = HttpMethod.GET.equals(method);
            return switch (path) {
                case "/live" -> get ? AdminResponse.text(200, "live\n") : USE_GET;
                case "/ready" -> !get ? USE_GET : observed.notReady().map(why -> AdminResponse.text(503, why + "\n"))
                        .orElseGet(() -> AdminResponse.text(200, "ready\n"));
                case "/status" -> get ? AdminResponse.json(200, observed.status().toJson(System.nanoTime())) : USE_GET;
                case "/metrics" -> get ? new AdminResponse(200, PROMETHEUS_TEXT, observed.metrics()) : USE_GET;
                case "/incidents" -> get ? AdminResponse.json(200, observed.incidents()) : USE_GET;
                case Dashboard.PAGE, Dashboard.SCRIPT, Dashboard.STYLE -> get ? Dashboard.asset(path) : USE_GET;
                default -> endpoints.handle(method, path, query, body).orElseGet(() ->
                        AdminResponse.text(404, "no admin endpoint " + method + " " + path + "\n"));
            };
        }

        private static void write(ChannelHandlerContext ctx, AdminResponse answer, Optional<String> challenge,
                                  boolean keepAlive) {
            ByteBuf content = Unpooled.copiedBuffer(answer.body(), StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(answer.status()), content);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, answer.contentType())
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            challenge.ifPresent(c -> response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, c));
            answer.fields().forEach((name, value) -> response.headers().set(name, value));
            HttpUtil.setKeepAlive(response, keepAlive);
            var f = ctx.writeAndFlush(response);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
