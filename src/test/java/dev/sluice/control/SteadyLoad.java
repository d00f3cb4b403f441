package dev.sluice.control;

import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Keep-alive clients sending requests back to back, each on its own virtual thread, that tell a
 * failed request apart from a connection that was refused before any request was sent. A client
 * reconnects after {@code Connection: close} only while {@code mayConnect} says so: that is how a
 * load balancer behaves once the instance's readiness turned 503.
 *
 * <p>{@link #stop()} lets each client finish the request it is in, so stopping counts no failure.
 */
final class SteadyLoad implements AutoCloseable {
    /**
     * A request written on an open connection that got no complete response.
     *
     * @param sentNanos when it was written ({@link System#nanoTime()})
     * @param requestsBefore how many responses that connection had carried before
     */
    record Failure(String path, String kind, long sentNanos, int requestsBefore) {}

    private final InetSocketAddress target;
    private final List<String> paths;
    private final BooleanSupplier mayConnect;
    private final List<Thread> workers = new ArrayList<>();
    private final Map<String, Map<Integer, LongAdder>> statuses = new ConcurrentHashMap<>();
    private final List<Failure> failures = new CopyOnWriteArrayList<>();
    private final LongAdder responses = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder connections = new LongAdder();
    private volatile boolean stopped;

    private SteadyLoad(InetSocketAddress target, List<String> paths, BooleanSupplier mayConnect) {
        this.target = target;
        this.paths = List.copyOf(paths);
        this.mayConnect = mayConnect;
    }

    /** {@code connections} clients, spread round robin over {@code paths}. */
    static SteadyLoad start(InetSocketAddress target, int connections, BooleanSupplier mayConnect, String... paths) {
        SteadyLoad load = new SteadyLoad(target, List.of(paths), mayConnect);
        for (int i = 0; i < connections; i++) {
            String path = load.paths.get(i % load.paths.size());
            load.workers.add(Thread.ofVirtual().name("steady-" + i).start(() -> load.work(path)));
        }
        return load;
    }

    static SteadyLoad start(InetSocketAddress target, int connections, String... paths) {
        return start(target, connections, () -> true, paths);
    }

    private void work(String path) {
        byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        RawHttpClient client = null;
        int onConnection = 0;
        long sent = 0;
        while (!stopped) {
            if (client == null) {
                if (!mayConnect.getAsBoolean()) {
                    LockSupport.parkNanos(2_000_000);
                    continue;
                }
                try {
                    client = RawHttpClient.connect(target);
                    connections.increment();
                    onConnection = 0;
                } catch (UncheckedIOException e) {
                    // Nothing was sent: a refused connection is not a failed request.
                    refused.increment();
                    LockSupport.parkNanos(2_000_000);
                    continue;
                }
            }
            try {
                sent = System.nanoTime();
                client.send(request);
                RawResponse response = client.readFinalResponse(Duration.ofSeconds(10));
                statuses.computeIfAbsent(path, p -> new ConcurrentHashMap<>())
                        .computeIfAbsent(response.status(), s -> new LongAdder()).increment();
                responses.increment();
                onConnection++;
                if (response.connectionClose()) {
                    client.close();
                    client = null;
                }
            } catch (RawHttpClient.PeerClosedException e) {
                failures.add(new Failure(path, e.kind() == RawHttpClient.CloseKind.RESET ? "reset" : "closed", sent, onConnection));
                client.close();
                client = null;
            } catch (UncheckedIOException e) {
                failures.add(new Failure(path, e.getCause() instanceof ConnectException ? "refused" : "io: "
                        + e.getCause(), sent, onConnection));
                client.close();
                client = null;
            } catch (AssertionError e) {
                failures.add(new Failure(path, "bad or late response: " + e.getMessage(), sent, onConnection));
                client.close();
                client = null;
            }
        }
        if (client != null) {
            client.close();
        }
    }

    long responses() {
        return responses.sum();
    }

    long refusedConnects() {
        return refused.sum();
    }

    long connectionsOpened() {
        return connections.sum();
    }

    List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Responses by path, then status. */
    Map<String, Map<Integer, Long>> statuses() {
        Map<String, Map<Integer, Long>> out = new TreeMap<>();
        statuses.forEach((path, byStatus) -> {
            Map<Integer, Long> counts = new TreeMap<>();
            byStatus.forEach((s, n) -> counts.put(s, n.sum()));
            out.put(path, counts);
        });
        return out;
    }

    /** Statuses other than 200, by path. */
    Map<String, Map<Integer, Long>> non200() {
        Map<String, Map<Integer, Long>> out = new TreeMap<>();
        statuses().forEach((path, byStatus) -> byStatus.forEach((s, n) -> {
            if (s != 200) {
                out.computeIfAbsent(path, p -> new TreeMap<>()).put(s, n);
            }
        }));
        return out;
    }

    /** Stops starting requests; each client finishes the one it is in. */
    void stop() {
        stopped = true;
        for (Thread t : workers) {
            try {
                t.join(Duration.ofSeconds(15));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        stop();
    }
}
