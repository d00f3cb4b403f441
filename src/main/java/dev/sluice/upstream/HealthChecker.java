package dev.sluice.upstream;

import dev.sluice.config.HealthCheckConfig;
import dev.sluice.failure.IoErrors;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Active health checks for one cluster: every interval, a GET of the check path on a fresh
 * connection to each endpoint, judged by status, and by identity (an expected header value and
 * body substring); or, with {@code grpc}, gRPC's {@code Health/Check} ({@link GrpcHealth}). The
 * check speaks the cluster's protocol: HTTP/1.1 here, HTTP/2 through {@link Http2HealthProbe}.
 * Runs on one event loop; nothing blocks.
 */
public final class HealthChecker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);
    /** 64 KiB of a health response is read; a health page has no business being larger. */
    static final int MAX_RESPONSE = 64 * 1024;
    static final String USER_AGENT = "sluice-health-check";

    /** What one check found. */
    enum Outcome { PASS, FAIL, WRONG_IDENTITY }

    /** What one check found, and what the log says of it. */
    record Verdict(Outcome outcome, String detail) { }

    private final Cluster cluster;
    private final HealthCheckConfig config;
    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final UpstreamConnector http2Connector;
    private final LongSupplier nanoClock;
    private final Map<Endpoint, int[]> streaks = new HashMap<>();
    private final Map<Endpoint, ScheduledFuture<?>> tasks = new HashMap<>();
    private volatile boolean closed;

    public HealthChecker(Cluster cluster, EventLoop loop, Class<? extends SocketChannel> channelClass,
                         LongSupplier nanoClock) {
        this.cluster = cluster;
        this.config = cluster.config().healthCheck().orElseThrow();
        this.loop = loop;
        this.channelClass = channelClass;
        this.http2Connector = new UpstreamConnector(channelClass, nanoClock);
        this.nanoClock = nanoClock;
    }

    /** Checks every endpoint now, then every interval. */
    public void start() {
        watch();
    }

    /**
     * Follows the cluster's endpoints as they are now (a host name resolved to other addresses):
     * a new one is checked at once, then every interval; a gone one is checked no more.
     */
    public void watch() {
        loop.execute(() -> {
            if (closed) {
                return;
            }
            long interval = config.interval().toNanos();
            List<Endpoint> now = cluster.endpoints();
            for (Endpoint e : now) {
                if (!tasks.containsKey(e)) {
                    streaks.put(e, new int[2]);
                    tasks.put(e, loop.scheduleAtFixedRate(() -> check(e), 0, interval, TimeUnit.NANOSECONDS));
                }
            }
            tasks.entrySet().removeIf(t -> {
                if (!now.contains(t.getKey())) {
                    t.getValue().cancel(false);
                    streaks.remove(t.getKey());
                    return true;
                }
                return false;
            });
        });
    }

    /** The cluster checked. */
    public Cluster cluster() {
        return cluster;
    }

    private void check(Endpoint endpoint) {
        if (closed) {
            return;
        }
        Probe probe = new Probe(endpoint);
        String authority = config.host().orElse(endpoint.address());
        if (cluster.config().protocol().multiplexed()) {
            Http2HealthProbe.send(http2Connector, loop, endpoint, cluster.tls(), config.timeout(), alloc -> {
                // A GET is its HEADERS alone (END_STREAM); the gRPC call has a body.
                HttpRequest request = config.grpc() ? GrpcHealth.request(config, alloc)
                        : new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, config.path());
                request.headers().set(HttpHeaderNames.HOST, authority).set(HttpHeaderNames.USER_AGENT, USER_AGENT);
                return request;
            }, probe);
            return;
        }
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.timeout().toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (cluster.tls() != null) {
                            // Checked as requests reach it: over TLS, its certificate verified.
                            ch.pipeline().addLast(cluster.tls().handler(ch.alloc(), endpoint, config.timeout().toMillis()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(MAX_RESPONSE),
                                probe);
                    }
                });
        bootstrap.connect(endpoint.socketAddress()).addListener(f -> {
            Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
            if (!f.isSuccess()) {
                probe.finish(Outcome.FAIL, "connect: " + IoErrors.describe(f.cause()));
                return;
            }
            ScheduledFuture<?> timeout = loop.schedule(() -> {
                probe.finish(Outcome.FAIL, "no answer within " + config.timeout());
                ch.close();
            }, config.timeout().toNanos(), TimeUnit.NANOSECONDS);
            ch.closeFuture().addListener(c -> timeout.cancel(false));
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, config.path());
            request.headers().set(HttpHeaderNames.HOST, authority)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                    .set(HttpHeaderNames.USER_AGENT, USER_AGENT);
            ch.writeAndFlush(request);
        });
    }

    /** Judges one response against the expectations. */
    static Outcome judge(HealthCheckConfig config, int status, java.util.function.Function<String, String> header,
                         String body) {
        if (status < config.expectedStatusMin() || status > config.expectedStatusMax()) {
            return Outcome.FAIL;
        }
        for (Map.Entry<String, String> expected : config.expectedHeaders().entrySet()) {
            if (!expected.getValue().equals(header.apply(expected.getKey()))) {
                return Outcome.WRONG_IDENTITY;
            }
        }
        if (config.expectedBody().isPresent() && !body.contains(config.expectedBody().get())) {
            return Outcome.WRONG_IDENTITY;
        }
        return Outcome.PASS;
    }

    /** Applies the thresholds: streaks of passes or failures move the endpoint between states. */
    private void record(Endpoint endpoint, Outcome outcome, String detail) {
        if (closed) {
            return;
        }
        int[] streak = streaks.get(endpoint);
        if (streak == null) {
            // A check that was under way when its endpoint left the cluster.
            return;
        }
        Endpoint.Health before = endpoint.health();
        Endpoint.Health after = before;
        switch (outcome) {
            case PASS -> {
                streak[0]++;
                streak[1] = 0;
                // The first check after start is enough to begin: nothing has flapped yet.
                if (before == Endpoint.Health.PENDING || streak[0] >= config.healthyThreshold()) {
                    after = Endpoint.Health.HEALTHY;
                }
            }
            case FAIL -> {
                streak[1]++;
                streak[0] = 0;
                if (before == Endpoint.Health.PENDING || streak[1] >= config.unhealthyThreshold()) {
                    after = before == Endpoint.Health.WRONG_IDENTITY ? before : Endpoint.Health.UNHEALTHY;
                }
            }
            case WRONG_IDENTITY -> {
                streak[0] = 0;
                streak[1]++;
                // Another service at this address: out at once, whatever the thresholds say.
                after = Endpoint.Health.WRONG_IDENTITY;
            }
        }
        if (after != before) {
            endpoint.health(after, nanoClock.getAsLong());
            // An endpoint coming and going is the checks doing their job (a deploy restarts every
            // endpoint): INFO. Another service answering at its address is a mistake to fix: WARN.
            if (after == Endpoint.Health.WRONG_IDENTITY) {
                LOG.warn("cluster {} endpoint {}: {} -> {} ({})", cluster.name(), endpoint.id(),
                        before.name().toLowerCase(), after.name().toLowerCase(), detail);
            } else {
                LOG.info("cluster {} endpoint {}: {} -> {} ({})", cluster.name(), endpoint.id(),
                        before.name().toLowerCase(), after.name().toLowerCase(), detail);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        loop.execute(() -> tasks.values().forEach(t -> t.cancel(false)));
    }

    /**
     * One check of one endpoint, last in the pipeline of its connection (HTTP/1.1) or of its
     * stream (HTTP/2): the answer, whole, is judged; the outcome is recorded exactly once.
     */
    final class Probe extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final Endpoint endpoint;
        private boolean finished;

        Probe(Endpoint endpoint) {
            this.endpoint = endpoint;
        }

        void finish(Outcome outcome, String detail) {
            if (!finished) {
                finished = true;
                record(endpoint, outcome, detail);
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
            Verdict verdict;
            if (response.decoderResult().isFailure()) {
                verdict = new Verdict(Outcome.FAIL, "malformed answer: " + response.decoderResult().cause());
            } else if (config.grpc()) {
                verdict = GrpcHealth.judge(config, response);
            } else {
                String body = response.content().toString(StandardCharsets.UTF_8);
                verdict = new Verdict(judge(config, response.status().code(), response.headers()::get, body),
                        "GET " + config.path() + " answered " + response.status().code());
            }
            finish(verdict.outcome(), verdict.detail());
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(Outcome.FAIL, "connection closed without an answer");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(Outcome.FAIL, cause.toString());
            ctx.close();
        }
    }
}
