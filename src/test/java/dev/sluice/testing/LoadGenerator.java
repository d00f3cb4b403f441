package dev.sluice.testing;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Drives N keep-alive connections against one URL, each sending a request as soon as the previous
 * response ended, and counts what came back: status codes and transport errors. Stops by itself after
 * a request count or a duration, whichever comes first.
 *
 * <pre>{@code
 * LoadGenerator.Result r = LoadGenerator.to(proxy.uri("/")).connections(50).requests(5_000).duration(Duration.ofSeconds(20)).run();
 * assertThat(r.transportErrors()).isEmpty(); assertThat(r.count(200)).isEqualTo(5_000);
 * }</pre>
 *
 * <p>Each connection is a {@link RawHttpClient} on its own virtual thread, so "N connections" is exact (no
 * hidden pool). After a transport error, or a response announcing close, the connection is replaced with
 * a new one. Transport errors are counted by kind: {@code connect_refused}, {@code connect_failed},
 * {@code reset}, {@code closed} (FIN before a complete response), {@code timeout}, {@code io_error}.
 */
public final class LoadGenerator {
    private final URI uri;
    private final int connections;
    private final long requests;
    private final Duration duration;
    private final Duration requestTimeout;
    private final byte[] request;

    private LoadGenerator(Builder b) {
        this.uri = b.uri;
        this.connections = b.connections;
        this.requests = b.requests;
        this.duration = b.duration;
        this.requestTimeout = b.requestTimeout;
        this.request = b.requestBytes();
    }

    /** Starts describing a load against an {@code http://host:port/path} URL. */
    public static Builder to(URI uri) {
        return new Builder(uri);
    }

    /** What to send and for how long; defaults: 10 connections, 1 000 requests, 30 s, 10 s per request, GET. */
    public static final class Builder {
        private final URI uri;
        private int connections = 10;
        private long requests = 1_000;
        private Duration duration = Duration.ofSeconds(30);
        private Duration requestTimeout = Duration.ofSeconds(10);
        private String method = "GET";
        private final Map<String, String> headers = new LinkedHashMap<>();
        private byte[] body;

        private Builder(URI uri) {
            if (!"http".equals(uri.getScheme()) || uri.getPort() < 0) {
                throw new IllegalArgumentException("need http://host:port/...: " + uri);
            }
            this.uri = uri;
        }

        public Builder connections(int n) {
            this.connections = n;
            return this;
        }

        /** Total requests across all connections. */
        public Builder requests(long n) {
            this.requests = n;
            return this;
        }

        /** No request is started after this much time. */
        public Builder duration(Duration d) {
            this.duration = d;
            return this;
        }

        /** How long one response may take before it counts as a {@code timeout} error. */
        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        public Builder method(String method) {
            this.method = method;
            return this;
        }

        public Builder header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        /** Sends this body with a Content-Length on every request. */
        public Builder body(byte[] body) {
            this.body = body.clone();
            return this;
        }

        /** Starts the load in the background. */
        public Run start() {
            return new LoadGenerator(this).startRun();
        }

        /** Runs the load to its end and returns the counts. */
        public Result run() {
            try (Run run = start()) {
                return run.await(duration.plus(requestTimeout).plusSeconds(10));
            }
        }

        private byte[] requestBytes() {
            String target = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                    + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            StringBuilder head = new StringBuilder()
                    .append(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n");
            headers.forEach((n, v) -> head.append(n).append(": ").append(v).append("\r\n"));
            if (body != null) {
                head.append("Content-Length: ").append(body.length).append("\r\n");
            }
            head.append("\r\n");
            byte[] h = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            if (body == null) {
                return h;
            }
            byte[] all = new byte[h.length + body.length];
            System.arraycopy(h, 0, all, 0, h.length);
            System.arraycopy(body, 0, all, h.length, body.length);
            return all;
        }
    }

    /**
     * What came back.
     *
     * @param requests          requests started
     * @param statusCounts      responses by status code
     * @param transportErrors   failed requests by error kind
     * @param connectionsOpened TCP connections the generator opened
     * @param elapsed           wall time of the run
     * @param refusals          responses other than 2xx by status and the {@code x-sluice-error} they carried
     *                          ({@code "503 no_healthy_endpoint"}; {@code "404 -"} when none): why a count went wrong
     */
    public record Result(long requests, Map<Integer, Long> statusCounts, Map<String, Long> transportErrors,
                         long connectionsOpened, Duration elapsed, Map<String, Long> refusals) {
        /** Responses with this status. */
        public long count(int status) {
            return statusCounts.getOrDefault(status, 0L);
        }

        public long responses() {
            return statusCounts.values().stream().mapToLong(Long::longValue).sum();
        }

        public long transportErrorTotal() {
            return transportErrors.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** A load in progress. {@link #close()} stops it and waits for its threads. */
    public final class Run implements AutoCloseable {
        private final List<Thread> workers = new ArrayList<>();
        private final Set<RawHttpClient> open = ConcurrentHashMap.newKeySet();
        private final AtomicLong permits = new AtomicLong(requests);
        private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
        private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
        private final LongAdder started = new LongAdder();
        private final LongAdder opened = new LongAdder();
        private final long startNanos = System.nanoTime();
        private final long endNanos = startNanos + duration.toNanos();
        private volatile boolean stopped;
        private volatile long finishedNanos;

        private Run() {}

        private void begin() {
            for (int i = 0; i < connections; i++) {
                workers.add(Thread.ofVirtual().name("load-" + i).start(this::work));
            }
        }

        private void work() {
            RawHttpClient client = null;
            try {
                while (!stopped && System.nanoTime() - endNanos < 0 && permits.getAndDecrement() > 0) {
                    started.increment();
                    try {
                        if (client == null) {
                            client = connect();
                        }
                        client.send(request);
                        RawResponse response = client.readFinalResponse(requestTimeout);
                        statuses.computeIfAbsent(response.status(), s -> new LongAdder()).increment();
                        if (response.status() / 100 != 2) {
                            String why = response.status() + " " + Objects.requireNonNullElse(response.header("x-sluice-error"), "-");
                            refusals.computeIfAbsent(why, k -> new LongAdder()).increment();
                        }
                        if (response.connectionClose()) {
                            client = discard(client);
                        }
                    } catch (RawHttpClient.PeerClosedException e) {
                        error(e.kind() == RawHttpClient.CloseKind.RESET ? "reset" : "closed");
                        client = discard(client);
                    } catch (RawHttpClient.ResponseTimeoutException e) {
                        error("timeout");
                        client = discard(client);
                    } catch (UncheckedIOException e) {
                        error(e.getCause() instanceof ConnectException ? "connect_refused"
                                : client == null ? "connect_failed"
                                : String.valueOf(e.getCause().getMessage()).toLowerCase().contains("reset") ? "reset" : "io_error");
                        client = discard(client);
                    } catch (AssertionError e) {
                        error(stopped ? "stopped" : "bad_response");
                        client = discard(client);
                    }
                }
            } finally {
                discard(client);
            }
        }

        private RawHttpClient connect() {
            URI u = uri;
            RawHttpClient c = RawHttpClient.connect(new InetSocketAddress(u.getHost(), u.getPort()));
            opened.increment();
            open.add(c);
            if (stopped) {
                c.close();
            }
            return c;
        }

        private RawHttpClient discard(RawHttpClient c) {
            if (c != null) {
                open.remove(c);
                c.close();
            }
            return null;
        }

        private void error(String kind) {
            errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
        }

        /** Stops starting requests; the ones in flight end as they would (then {@link #await}). */
        public void finish() {
            stopped = true;
        }

        /** Stops starting requests and closes the connections (a request in flight ends as an error). */
        public void stop() {
            stopped = true;
            open.forEach(RawHttpClient::close);
        }

        /** Waits for the load to end by itself and returns the counts; stops it if it runs past {@code timeout}. */
        public Result await(Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Thread t : workers) {
                long left = deadline - System.nanoTime();
                try {
                    if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                        stop();
                        t.join(Duration.ofSeconds(10));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stop();
                    break;
                }
            }
            if (finishedNanos == 0) {
                finishedNanos = System.nanoTime();
            }
            return result();
        }

        private Result result() {
            Map<Integer, Long> s = new TreeMap<>();
            statuses.forEach((k, v) -> s.put(k, v.sum()));
            Map<String, Long> e = new TreeMap<>();
            errors.forEach((k, v) -> e.put(k, v.sum()));
            Map<String, Long> r = new TreeMap<>();
            refusals.forEach((k, v) -> r.put(k, v.sum()));
            return new Result(started.sum(), Map.copyOf(s), Map.copyOf(e), opened.sum(),
                    Duration.ofNanos(finishedNanos - startNanos), Map.copyOf(r));
        }

        @Override
        public void close() {
            stop();
            await(Duration.ofSeconds(10));
        }
    }

    private Run startRun() {
        Objects.requireNonNull(uri);
        Run run = new Run();
        run.begin();
        return run;
    }
}
