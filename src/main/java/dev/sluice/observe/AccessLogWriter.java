package dev.sluice.observe;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that does the access log's blocking I/O. It writes the batches the lanes hand
 * over (one write(2) each), and every {@link #FLUSH_INTERVAL} the whole lines of the batches
 * still being filled; it gives each written batch back to its lane, reopens the file when asked
 * (after writing everything logged before), and warns when lines are dropped.
 */
final class AccessLogWriter {
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    /** 100 ms: nginx's {@code flush=} in spirit; a line reaches its file this soon after its request ended. */
    static final Duration FLUSH_INTERVAL = Duration.ofMillis(100);
    /** A warning a minute while lines are being dropped: enough to notice, not a second flood. */
    static final Duration WARNING_INTERVAL = Duration.ofMinutes(1);
    private static final long FLUSH_NANOS = FLUSH_INTERVAL.toNanos();
    private static final long WARNING_NANOS = WARNING_INTERVAL.toNanos();

    private final ConcurrentLinkedQueue<AccessLogLane.Batch> full = new ConcurrentLinkedQueue<>();
    private final List<AccessLogLane> lanes = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<CompletableFuture<Void>> reopens = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean closed;
    private AccessLogSink sink;
    /** Lines lost to write errors, and the drops of lanes whose thread has ended: written by the writer only. */
    private volatile long droppedHere;
    private String lastError;
    private long lastWarningNanos = System.nanoTime() - WARNING_NANOS;
    private long droppedAtLastWarning;

    AccessLogWriter(AccessLogSink sink) {
        this.sink = sink;
        this.thread = Thread.ofPlatform().daemon().name("sluice-access-log").unstarted(this::run);
        thread.start();
    }

    AccessLogLane register(AccessLogLane lane) {
        lanes.add(lane);
        return lane;
    }

    /** A lane's full batch: written at once, then given back. Never blocks. */
    void submit(AccessLogLane.Batch batch) {
        full.offer(batch);
        LockSupport.unpark(thread);
    }

    boolean closed() {
        return closed;
    }

    CompletableFuture<Void> reopen() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        reopens.offer(done);
        LockSupport.unpark(thread);
        if (closed) {
            done.complete(null);
        }
        return done;
    }

    long dropped() {
        long n = droppedHere;
        for (AccessLogLane lane : lanes) {
            n += lane.dropped();
        }
        return n;
    }

    /** Writes what was logged before, and closes a file it opened; waits at most {@code timeout}. */
    void close(Duration timeout) throws InterruptedException {
        closed = true;
        LockSupport.unpark(thread);
        thread.join(timeout);
    }

    private void run() {
        long nextSweep = System.nanoTime() + FLUSH_NANOS;
        while (true) {
            boolean closing = closed;
            boolean reopening = !reopens.isEmpty();
            writeFullBatches();
            long now = System.nanoTime();
            if (closing || reopening || now - nextSweep >= 0) {
                writeCurrentBatches();
                flush();
                warnIfDropping(now);
                nextSweep = now + FLUSH_NANOS;
            }
            if (reopening) {
                reopenSink();
            }
            if (closing) {
                break;
            }
            LockSupport.parkNanos(this, Math.max(1, nextSweep - System.nanoTime()));
        }
        try {
            sink.close();
        } catch (IOException e) {
            LOG.warn("access log: closing it failed: {}", e.toString());
        }
        reopens.forEach(f -> f.complete(null));
    }

    private void writeFullBatches() {
        AccessLogLane.Batch b;
        while ((b = full.poll()) != null) {
            write(b, b.committed());
            b.lane.finishedSequence = b.sequence;
            b.written = 0;
            if (b.bytes.length > AccessLogLane.BATCH_BYTES) {
                b.bytes = new byte[AccessLogLane.BATCH_BYTES];
            }
            b.lane.free.offer(b);
        }
    }

    /**
     * The whole lines of each lane's batch in progress, unless an earlier batch of that lane is
     * still queued (its lines go first). A lane whose thread has ended is written out and let go.
     */
    private void writeCurrentBatches() {
        for (AccessLogLane lane : lanes) {
            boolean ended = !lane.thread.isAlive();
            AccessLogLane.Batch b = lane.current();
            if (b != null && b.sequence == lane.finishedSequence + 1) {
                write(b, b.committed());
            } else if (b != null) {
                continue;
            }
            if (ended) {
                lanes.remove(lane);
                droppedHere += lane.dropped();
            }
        }
    }

    private void write(AccessLogLane.Batch b, int end) {
        if (end <= b.written) {
            return;
        }
        try {
            sink.write(b.bytes, b.written, end - b.written);
        } catch (IOException e) {
            droppedHere += lines(b.bytes, b.written, end);
            lastError = e.toString();
        }
        b.written = end;
    }

    private void flush() {
        try {
            sink.flush();
        } catch (IOException e) {
            lastError = e.toString();
        }
    }

    private void reopenSink() {
        try {
            sink = sink.reopen();
        } catch (IOException e) {
            // As nginx does: keep writing to the file that is open rather than lose lines.
            LOG.error("access log: reopening it failed, still writing to the file open before: {}", e.toString());
        }
        CompletableFuture<Void> done;
        while ((done = reopens.poll()) != null) {
            done.complete(null);
        }
    }

    private void warnIfDropping(long now) {
        long dropped = dropped();
        if (dropped > droppedAtLastWarning && now - lastWarningNanos >= WARNING_NANOS) {
            long seconds = Math.max(1, Math.round((now - lastWarningNanos) / 1e9));
            LOG.warn("access log: {} lines dropped {}({} in all): {}", dropped - droppedAtLastWarning,
                    droppedAtLastWarning == 0 ? "" : "in the last " + seconds + " s ", dropped,
                    lastError != null ? "writing failed: " + lastError
                            : "its file or stdout did not keep up, and event loops never wait for it");
            lastWarningNanos = now;
            droppedAtLastWarning = dropped;
            lastError = null;
        }
    }

    /** Access-log lines never hold a raw newline (JSON escapes it), so this counts whole lines. */
    private static long lines(byte[] bytes, int from, int to) {
        long n = 0;
        for (int i = from; i < to; i++) {
            if (bytes[i] == '\n') {
                n++;
            }
        }
        return n;
    }
}
