package dev.sluice.exchange;

import dev.sluice.config.MatchConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.observe.AccessLog;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.RouteTable;
import dev.sluice.http.HeaderBytes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Microbenchmarks of the per-request hot paths: route matching, header rewriting, writing
 * header fields and the access-log line. Run with {@code bench/jmh}; not part of the test suite.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HotPathBenchmark {
    private RouteTable twentyRoutes;
    private HttpRequest lastRouteRequest;
    private RequestLog exchange;

    @Setup
    public void setUp() {
        List<RouteConfig> routes = new ArrayList<>();
        for (int i = 0; i < 19; i++) {
            routes.add(new RouteConfig("r" + i, new MatchConfig(Optional.of("svc" + i + ".example.com"),
                    Optional.of("/api/v" + i + "/"), Optional.empty(), List.of("GET", "POST"), Map.of()),
                    "c", Duration.ofSeconds(1)));
        }
        routes.add(new RouteConfig("default", MatchConfig.prefix("/"), "c", Duration.ofSeconds(1)));
        twentyRoutes = new RouteTable(routes);
        lastRouteRequest = request();
        exchange = new RequestLog(1_763_900_000_000L, 0);
        exchange.received("6f1c0e0b9c2d4a55b0e7a1f4f3c2d1e0", "203.0.113.7", "GET",
                "/api/v2/items?page=3&q=\"shoes\"", "HTTP/1.1", "shop.example.com");
        exchange.routed("api", "api", 100);
        exchange.attemptStarted("10.0.0.11:9001", false, -1, -1);
        exchange.attemptEnded(FailureKind.CONNECT_REFUSED, "retried: unprocessed, next endpoint",
                "retried_next_endpoint");
        exchange.attemptStarted("10.0.0.12:9001", false, -1, -1);
        exchange.sent(345_678);
        exchange.firstByte(1_345_678, 200);
        exchange.responded(200);
        exchange.bodyOut(5120);
        exchange.completed(2_345_678);
    }

    private static HttpRequest request() {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/catalog/items?page=3");
        r.headers().set("host", "www.example.com").set("user-agent", "bench/1.0").set("accept", "*/*")
                .set("accept-encoding", "gzip").set("cookie", "session=abc123; theme=dark");
        return r;
    }

    /** The worst case of a 20-route table: only the last, catch-all route matches. */
    @Benchmark
    public Object routeMatchFallsThroughNineteenRoutes() {
        return twentyRoutes.match(lastRouteRequest);
    }

    /** Everything Sluice does to a request head before forwarding it. */
    @Benchmark
    public Object requestHeaderRewrite() {
        HttpRequest r = request();
        HeaderPolicy.removeHopByHop(r.headers());
        HeaderPolicy.setForwarded(r.headers(), "203.0.113.7", false);
        HeaderPolicy.appendVia(r.headers());
        HeaderPolicy.ensureRequestId(r.headers(), HeaderPolicy::newRequestId);
        return r;
    }

    /** Building a fresh request head alone, to subtract from {@link #requestHeaderRewrite}. */
    @Benchmark
    public Object requestHeadBaseline() {
        return request();
    }

    @Benchmark
    public String accessLogLine() {
        return AccessLog.format(exchange);
    }

    /** A forwarded request's header fields, written as Netty's encoder writes them: field by field. */
    @Benchmark
    public int headerFieldsFieldByField() {
        encoded.clear();
        nettyFields.write(forwardedHead.headers(), encoded);
        return encoded.writerIndex();
    }

    /** The same fields written as Sluice's encoders write them ({@link HeaderBytes}): one copy. */
    @Benchmark
    public int headerFieldsOneCopy() {
        encoded.clear();
        HeaderBytes.write(forwardedHead.headers(), encoded);
        return encoded.writerIndex();
    }

    private final ByteBuf encoded = PooledByteBufAllocator.DEFAULT.directBuffer(2048);
    private final NettyFields nettyFields = new NettyFields();
    private final HttpRequest forwardedHead = forwarded();

    private static HttpRequest forwarded() {
        HttpRequest r = request();
        HeaderPolicy.setForwarded(r.headers(), "203.0.113.7", false);
        HeaderPolicy.appendVia(r.headers());
        HeaderPolicy.ensureRequestId(r.headers(), HeaderPolicy::newRequestId);
        return r;
    }

    /** Netty's own header-field writing, reached through its protected hook. */
    private static final class NettyFields extends HttpRequestEncoder {
        void write(HttpHeaders headers, ByteBuf buf) {
            super.encodeHeaders(headers, buf);
        }
    }

    @TearDown
    public void tearDown() {
        encoded.release();
    }
}
