package dev.sluice.control;

import dev.sluice.testing.TestBackend;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** A backend answering 200 with its name, counting requests by path prefix ({@code /api/...} counts as {@code /api/}). */
final class CountingBackend implements AutoCloseable {
    private final String name;
    private final TestBackend backend;
    private final Map<String, LongAdder> byPrefix = new ConcurrentHashMap<>();
    private final LongAdder total = new LongAdder();

    CountingBackend(String name) {
        this.name = name;
        this.backend = TestBackend.builder().recordLimit(100).handler(ex -> {
            String path = ex.path();
            int second = path.indexOf('/', 1);
            byPrefix.computeIfAbsent(second < 0 ? path : path.substring(0, second + 1), p -> new LongAdder()).increment();
            total.increment();
            ex.respond(200, name);
        }).start();
    }

    String address() {
        InetSocketAddress a = backend.address();
        return "127.0.0.1:" + a.getPort();
    }

    /**
     * A config for a child Sluice: one route of {@code prefix} to this backend, its admin API on a
     * free port, no access log, and a drain that ends at once.
     */
    String childConfig(String prefix) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: %s }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                drain: { delay: 0s, timeout: 2s }
                """.formatted(prefix, address());
    }

    long requests() {
        return total.sum();
    }

    long requests(String prefix) {
        LongAdder n = byPrefix.get(prefix);
        return n == null ? 0 : n.sum();
    }

    @Override
    public String toString() {
        return name;
    }

    @Override
    public void close() {
        backend.close();
    }
}
