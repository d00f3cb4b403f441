package dev.sluice.server;

import dev.sluice.config.AccessLogConfig;
import dev.sluice.config.ClusterConfig;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.HostPort;
import dev.sluice.config.ListenerConfig;
import dev.sluice.config.MatchConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.exchange.HeaderPolicy;
import dev.sluice.observe.AccessLog;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Sluice's data plane started in-process on an ephemeral port, for integration tests on real
 * sockets. The access log goes to memory, so tests can read what a user would read.
 */
public final class TestGateway implements AutoCloseable {
    private final Gateway gateway;
    private final AccessLog accessLog;
    private final SyncBuffer logBuffer;

    private TestGateway(Gateway gateway, AccessLog accessLog, SyncBuffer logBuffer) {
        this.gateway = gateway;
        this.accessLog = accessLog;
        this.logBuffer = logBuffer;
    }

    /** One listener, one catch-all route to one cluster of the given endpoints. */
    public static TestGateway proxyTo(InetSocketAddress... endpoints) throws InterruptedException {
        return start(config(UnaryOperator.identity(), UnaryOperator.identity(), endpoints));
    }

    public static SluiceConfig config(UnaryOperator<ListenerConfig> listener, UnaryOperator<ClusterConfig> cluster,
                                      InetSocketAddress... endpoints) {
        List<EndpointConfig> eps = new ArrayList<>();
        Arrays.stream(endpoints).forEach(a -> eps.add(EndpointConfig.of(new HostPort(a.getHostString(), a.getPort()))));
        ClusterConfig c = cluster.apply(ClusterConfig.of("app", eps));
        return new SluiceConfig("<test>", new ServerConfig(2),
                List.of(listener.apply(ListenerConfig.of(new HostPort("127.0.0.1", 0)))),
                List.of(new RouteConfig("all", MatchConfig.prefix("/"), "app", RouteConfig.DEFAULT_TIMEOUT)),
                List.of(c), Optional.empty(), AccessLogConfig.STDOUT);
    }

    /** A gateway from YAML, as a user would write it (listeners should use port 0). */
    public static TestGateway fromYaml(String yaml) throws Exception {
        return start(dev.sluice.config.ConfigLoader.parse(yaml, "<test>"));
    }

    /** A gateway from YAML whose host names {@code resolver} answers. */
    public static TestGateway fromYaml(String yaml, dev.sluice.upstream.NameResolver resolver) throws Exception {
        SluiceConfig config = dev.sluice.config.ConfigLoader.parse(yaml, "<test>");
        SyncBuffer buffer = new SyncBuffer();
        AccessLog log = AccessLog.toStream(buffer);
        Gateway gateway = new Gateway(config, log, java.time.Clock.systemUTC(), System::nanoTime,
                HeaderPolicy::newRequestId, dev.sluice.apps.Apps.unrecorded(), loop -> resolver);
        try {
            gateway.bindListeners();
        } catch (RuntimeException | InterruptedException e) {
            gateway.close();
            throw e;
        }
        return new TestGateway(gateway, log, buffer);
    }

    public static TestGateway start(SluiceConfig config) throws InterruptedException {
        SyncBuffer buffer = new SyncBuffer();
        AccessLog log = AccessLog.toStream(buffer);
        return new TestGateway(Gateway.start(config, log), log, buffer);
    }

    public InetSocketAddress address() {
        return gateway.boundAddresses().get(0);
    }

    public String url(String path) {
        return "http://127.0.0.1:" + address().getPort() + path;
    }

    public Gateway gateway() {
        return gateway;
    }

    /** Access-log lines written so far. */
    public List<String> accessLogLines() {
        String text = logBuffer.text();
        return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    }

    @Override
    public void close() {
        gateway.close();
        accessLog.close();
    }

    private static final class SyncBuffer extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
