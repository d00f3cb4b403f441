package dev.sluice.record;

import dev.sluice.config.RecordConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes recorded exchanges, off the event loops: a loop {@link #offer}s an entry to a bounded,
 * lock-free queue and goes on; one thread, {@code sluice-recorder} (started by the first entry),
 * encodes each as a line ({@link HarLines}) and appends it to its directory's files
 * ({@link RecordFiles}). A full queue drops the entry and counts it: a slow disk never slows traffic.
 * Routes that name one directory share its files; {@code _route} tells their entries apart.
 */
public final class Recorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Recorder.class);

    /**
     * 1,024 entries: about a second of a busy route at {@code fraction: 1} waiting for the disk,
     * and at most 1,024 × {@code max_body} of bodies held (64 MiB at the default).
     */
    static final int QUEUE = 1024;
    /** How long the idle writer sleeps between looks when nobody wakes it: an entry offered meanwhile wakes it at once. */
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private record Pending(RecordConfig config, RecordedExchange entry, RecordCounts counts) {}

    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final Clock clock;
    /** Touched by the writer thread only. */
    private final Map<Path, RecordFiles> files = new HashMap<>();
    private final java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Thread writer;
    private volatile boolean sleeping;
    private volatile boolean closed;

    public Recorder(Clock clock) {
        this.clock = clock;
    }

    /** Queues {@code entry} for its route's files; returns false (and counts it dropped) when the queue is full. */
    public boolean offer(RecordConfig config, RecordedExchange entry, RecordCounts counts) {
        if (closed || queued.incrementAndGet() > QUEUE) {
            queued.decrementAndGet();
            counts.dropped.increment();
            return false;
        }
        queue.offer(new Pending(config, entry, counts));
        Thread w = writer;
        if (w == null) {
            start();
        } else if (sleeping) {
            LockSupport.unpark(w);
        }
        return true;
    }

    /** Once per Sluice: the first recorded exchange starts the thread (an instance that records nothing has none). */
    private void start() {
        if (started.compareAndSet(false, true)) {
            Thread t = new Thread(this::run, "sluice-recorder");
            t.setDaemon(true);
            writer = t;
            t.start();
        }
    }

    private void run() {
        while (!closed || !queue.isEmpty()) {
            Pending p = queue.poll();
            if (p == null) {
                flushAll();
                sleeping = true;
                if (queue.isEmpty() && !closed) {
                    LockSupport.parkNanos(this, IDLE_NANOS);
                }
                sleeping = false;
                continue;
            }
            write(p);
            // After the write: nothing queued means everything offered so far is written.
            queued.decrementAndGet();
        }
        flushAll();
        files.values().forEach(f -> {
            try {
                f.close();
            } catch (IOException e) {
                LOG.warn("recording: closing {} failed: {}", f.current(), e.toString());
            }
        });
    }

    private void write(Pending p) {
        RecordConfig config = p.config();
        RecordFiles out = files.computeIfAbsent(config.directory().toAbsolutePath().normalize(),
                dir -> new RecordFiles(dir, config.rotateSize(), config.rotateKeep()));
        out.rotation(config.rotateSize(), config.rotateKeep());
        try {
            out.write(HarLines.line(p.entry()), clock.instant());
            p.counts().written.increment();
        } catch (IOException | RuntimeException e) {
            if (p.counts().failed.sum() == 0) {
                LOG.warn("recording route '{}' to {} failed: {}", p.entry().route(), config.directory(), e.toString());
            }
            p.counts().failed.increment();
        }
    }

    private void flushAll() {
        for (RecordFiles f : files.values()) {
            try {
                f.flush();
            } catch (IOException e) {
                LOG.warn("recording: writing {} failed: {}", f.current(), e.toString());
            }
        }
    }

    /** Entries offered and not yet written. */
    public int queued() {
        return Math.max(queued.get(), 0);
    }

    /** Writes what is queued, closes the files and ends the thread (waiting for it at most 2 s). */
    @Override
    public void close() {
        closed = true;
        Thread w = writer;
        if (w != null) {
            LockSupport.unpark(w);
            try {
                w.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
