package dev.sluice.observe;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON access log: one object per line per request. The event loop only formats the line
 * and hands it over; a writer thread does the I/O, so a slow disk or a blocked stdout pipe never
 * stalls the data plane. When the queue is full lines are dropped and counted, not waited for.
 */
public final class AccessLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    /** 64 Ki lines (about 30 MiB) of buffering absorbs bursts while the writer catches up. */
    private static final int QUEUE_CAPACITY = 64 * 1024;

    public static final AccessLog DISABLED = new AccessLog();

    private final BlockingQueue<String> queue;
    private final Thread writerThread;
    private final Writer writer;
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closed;

    private AccessLog() {
        this.queue = null;
        this.writerThread = null;
        this.writer = null;
    }

    private AccessLog(Writer writer) {
        this.queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        this.writer = writer;
        this.writerThread = new Thread(this::drain, "sluice-access-log");
        this.writerThread.setDaemon(true);
        this.writerThread.start();
    }

    public static AccessLog toStream(OutputStream out) {
        return new AccessLog(new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 64 * 1024));
    }

    public static AccessLog toFile(Path path) throws IOException {
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        return toStream(Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    public boolean enabled() {
        return queue != null;
    }

    public long droppedLines() {
        return dropped.get();
    }

    public void log(RequestLog exchange) {
        if (queue == null || closed) {
            return;
        }
        if (!queue.offer(format(exchange))) {
            dropped.incrementAndGet();
        }
    }

    /** The line for one exchange, without the trailing newline. */
    public static String format(RequestLog e) {
        StringBuilder b = new StringBuilder(512);
        b.append('{');
        b.append("\"time\":\"");
        appendTime(b, e.startEpochMillis());
        b.append("\",");
        field(b, "request_id", e.requestId());
        field(b, "client", e.client());
        field(b, "method", e.method());
        field(b, "host", e.host());
        field(b, "path", e.uri());
        field(b, "protocol", e.protocol());
        field(b, "route", e.route());
        field(b, "cluster", e.cluster());
        field(b, "endpoint", e.endpoint());
        number(b, "status", e.status());
        if (e.upstreamStatus() > 0) {
            number(b, "upstream_status", e.upstreamStatus());
        } else {
            raw(b, "upstream_status", "null");
        }
        field(b, "failure", e.failure() == null ? null : e.failure().label());
        if (e.clientAborted()) {
            raw(b, "client_aborted", "true");
        }
        // Failed attempts are recorded; a successful last one is not.
        number(b, "attempts", e.attempts().size() + (e.failure() == null && e.upstreamStatus() > 0 ? 1 : 0));
        attempts(b, e.attempts());
        raw(b, "reused", e.connectionReused() ? "true" : "false");
        number(b, "idle_ms", e.connectionIdleMillis());
        millis(b, "duration_ms", e.totalNanos());
        millis(b, "connect_ms", e.connectNanos());
        millis(b, "upstream_ms", e.upstreamNanos());
        number(b, "bytes_in", e.bytesIn());
        number(b, "bytes_out", e.bytesOut());
        b.setLength(b.length() - 1);
        return b.append('}').toString();
    }

    /** The second-resolution part of the last timestamp formatted ("2026-11-23T11:48:20"). */
    private static volatile CachedSecond cachedSecond = new CachedSecond(Long.MIN_VALUE, "");

    private record CachedSecond(long epochSecond, String text) {}

    /**
     * ISO-8601 UTC with milliseconds, as {@code Instant.toString()} would print it, but formatting
     * the date and time only once per second: a log line per request must stay cheap.
     */
    static void appendTime(StringBuilder b, long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        CachedSecond cached = cachedSecond;
        if (cached.epochSecond() != second) {
            String text = java.time.LocalDateTime.ofEpochSecond(second, 0, java.time.ZoneOffset.UTC)
                    .format(java.time.format.DateTimeFormatter.ISO_LOCAL_DATE_TIME);
            cached = new CachedSecond(second, text.length() == 16 ? text + ":00" : text);
            cachedSecond = cached;
        }
        int millis = (int) Math.floorMod(epochMillis, 1000);
        b.append(cached.text()).append('.');
        if (millis < 100) {
            b.append('0');
        }
        if (millis < 10) {
            b.append('0');
        }
        b.append(millis).append('Z');
    }

    private static void attempts(StringBuilder b, List<RequestLog.Attempt> attempts) {
        if (attempts.isEmpty()) {
            return;
        }
        b.append("\"tries\":[");
        for (RequestLog.Attempt a : attempts) {
            b.append('{');
            field(b, "endpoint", a.endpoint());
            field(b, "failure", a.failure() == null ? null : a.failure().label());
            field(b, "decision", a.decision());
            raw(b, "reused", a.reused() ? "true" : "false");
            b.setLength(b.length() - 1);
            b.append("},");
        }
        b.setLength(b.length() - 1);
        b.append("],");
    }

    private static void field(StringBuilder b, String name, String value) {
        b.append('"').append(name).append("\":");
        if (value == null) {
            b.append("null,");
            return;
        }
        b.append('"');
        escape(b, value);
        b.append("\",");
    }

    private static void number(StringBuilder b, String name, long value) {
        b.append('"').append(name).append("\":").append(value).append(',');
    }

    private static void millis(StringBuilder b, String name, long nanos) {
        // Three decimals: microsecond resolution without float formatting.
        long micros = nanos / 1000;
        b.append('"').append(name).append("\":").append(micros / 1000).append('.');
        long frac = micros % 1000;
        if (frac < 100) {
            b.append('0');
        }
        if (frac < 10) {
            b.append('0');
        }
        b.append(frac).append(',');
    }

    private static void raw(StringBuilder b, String name, String json) {
        b.append('"').append(name).append("\":").append(json).append(',');
    }

    /** JSON string escaping (RFC 8259 §7); request paths and hosts are untrusted. */
    static void escape(StringBuilder b, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
    }

    private void drain() {
        List<String> batch = new ArrayList<>(256);
        try {
            while (!closed || !queue.isEmpty()) {
                String first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, 1023);
                for (String line : batch) {
                    writer.write(line);
                    writer.write('\n');
                }
                batch.clear();
                writer.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.error("access log stopped: {}", e.toString());
        }
    }

    @Override
    public void close() {
        if (queue == null || closed) {
            return;
        }
        closed = true;
        try {
            writerThread.join(2000);
            writer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException ignored) {
            // Nothing more can be written; the lines in flight are lost with the stream.
        }
    }
}
