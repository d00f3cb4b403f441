package dev.sluice.observe;

import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The JSON access log: one object per line per request, encoded by the thread that served the
 * request into that thread's own batch (an {@link AccessLogLane}) and written in batches by one
 * writer thread ({@link AccessLogWriter}): no lock shared between event loops, one write(2) per
 * ~64 KiB, every line written within 100 ms. A slow disk or a blocked stdout never stalls an
 * event loop: when its batches are all waiting to be written, lines are dropped and counted.
 *
 * <p>Lines from one event loop are in the order their requests ended; lines from different
 * event loops are interleaved batch by batch.
 */
public final class AccessLog implements AutoCloseable {
    public static final AccessLog DISABLED = new AccessLog(null);
    /** How long {@link #close} waits for the writer to write what was logged before. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);

    private final AccessLogWriter writer;
    private final FastThreadLocal<AccessLogLane> lanes;

    private AccessLog(AccessLogWriter writer, QueryRedaction redaction) {
        this.writer = writer;
        this.lanes = writer == null ? null : new FastThreadLocal<>() {
            @Override
            protected AccessLogLane initialValue() {
                return writer.register(new AccessLogLane(Thread.currentThread(), writer, redaction));
            }
        };
    }

    private AccessLog(AccessLogWriter writer) {
        this(writer, QueryRedaction.DEFAULT);
    }

    /** Lines go to {@code out} (stdout, say), which is flushed after each batch and never closed. */
    public static AccessLog toStream(OutputStream out) {
        return toStream(out, QueryRedaction.DEFAULT);
    }

    /** As {@link #toStream(OutputStream)}, with the query parameters {@code redaction} hides. */
    public static AccessLog toStream(OutputStream out, QueryRedaction redaction) {
        return new AccessLog(new AccessLogWriter(new AccessLogSink.StreamSink(out)), redaction);
    }

    /** Lines are appended to {@code path}, created with its folders if missing; {@link #reopen} opens it again. */
    public static AccessLog toFile(Path path) throws IOException {
        return toFile(path, QueryRedaction.DEFAULT);
    }

    /** As {@link #toFile(Path)}, with the query parameters {@code redaction} hides. */
    public static AccessLog toFile(Path path, QueryRedaction redaction) throws IOException {
        return new AccessLog(new AccessLogWriter(AccessLogSink.FileSink.open(path)), redaction);
    }

    public boolean enabled() {
        return writer != null;
    }

    /** Lines lost so far: dropped while the writer was behind, or whose write failed. */
    public long droppedLines() {
        return writer == null ? 0 : writer.dropped();
    }

    /** Logs a finished request from any thread; never blocks. */
    public void log(RequestLog request) {
        if (writer == null || writer.closed()) {
            return;
        }
        lanes.get().append(request);
    }

    /**
     * Opens the log file again at its path (what logrotate's {@code postrotate} asks with
     * SIGUSR1), on the writer thread after it has written the lines logged before this call.
     * Completes when the file is reopened; a stream is not reopened.
     */
    public CompletableFuture<Void> reopen() {
        return writer == null ? CompletableFuture.completedFuture(null) : writer.reopen();
    }

    /** The line for one request, without the trailing newline. */
    public static String format(RequestLog request) {
        AccessLineEncoder encoder = new AccessLineEncoder();
        byte[] bytes = new byte[encoder.maxLength(request)];
        int end = encoder.encode(request, bytes, 0);
        return new String(bytes, 0, end - 1, StandardCharsets.UTF_8);
    }

    /** Writes what was logged before (waiting up to 2 s) and closes the file; later lines are ignored. */
    @Override
    public void close() {
        if (writer == null || writer.closed()) {
            return;
        }
        try {
            writer.close(CLOSE_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
