package dev.sluice.record;

import dev.sluice.config.RecordConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes recorded exchanges, off the event loops: a loop {@link #offer}s an entry to a bounded,
 * lock-free queue and goes on; one thread, {@code sluice-recorder} (started by the first entry),
 * encodes each as a line ({@link HarEntryEncoder}) and appends it to its directory's files
 * ({@link RecordFiles}). A full queue drops the entry and counts it: a slow disk never slows traffic.
 * Routes that name one directory share its files; {@code _route} tells their entries apart.
 *
 * <p>The writer works in batches. Woken for each entry, it would take a context switch, a park
 * and a write to the disk per exchange, on the cores the event loops need (measured on one core
 * at {@code fraction: 1}: more than the encoding itself). So a loop wakes it only when the queue
 * reaches {@link #WAKE_AT} entries, or when it sleeps idle; otherwise it lingers
 * {@link #LINGER_NANOS} after a batch, then writes what gathered meanwhile, and flushes the files
 * once per batch.
 */
public final class Recorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Recorder.class);

    /**
     * 1,024 entries: about a second of a busy route at {@code fraction: 1} waiting for the disk,
     * and at most 1,024 × {@code max_body} of bodies held (64 MiB at the default).
     */
    static final int QUEUE = 1024;
    /**
     * 64 entries: a batch. Larger batches save little (a few wake-ups a second less), and what
     * waits in the queue when the young generation is collected is copied to the old one (Sluice
     * runs with {@code MaxTenuringThreshold=0} on small machines, bin/lib/jvm-options.sh).
     */
    static final int WAKE_AT = 64;
    /** 20 ms: how long entries gather after a batch: a file is at most this much behind the traffic. */
    private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** How long the idle writer sleeps between looks when nobody wakes it: an entry offered meanwhile wakes it at once. */
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private record Pending(RecordConfig config, RecordedExchange entry, RecordCounts counts) {}

    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final Clock clock;
    /** Touched by the writer thread only. */
    private final Map<Path, RecordFiles> files = new HashMap<>();
    private final HarEntryEncoder encoder = new HarEntryEncoder();
    /** The files of the last entry's config: most entries follow one of the same route. Writer thread only. */
    private RecordConfig lastConfig;
    private RecordFiles lastFiles;
    private final AtomicBoolean started = new AtomicBoolean();
    /** The writer found nothing to write last time and sleeps until an entry comes: the first one offered wakes it. */
    private final AtomicBoolean idle = new AtomicBoolean();
    private volatile Thread writer;
    private volatile boolean sleeping;
    private volatile boolean closed;

    public Recorder(Clock clock) {
        this.clock = clock;
    }

    /** Queues {@code entry} for its route's files; returns false (and counts it dropped) when the queue is full. */
    public boolean offer(RecordConfig config, RecordedExchange entry, RecordCounts counts) {
        int n = queued.incrementAndGet();
        if (closed || n > QUEUE) {
            queued.decrementAndGet();
            counts.dropped.increment();
            return false;
        }
        queue.offer(new Pending(config, entry, counts));
        Thread w = writer;
        if (w == null) {
            start();
        } else if (idle.get() ? idle.compareAndSet(true, false) : n == WAKE_AT && sleeping) {
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
        while (true) {
            boolean wrote = false;
            for (Pending p; (p = queue.poll()) != null; ) {
                write(p);
                // After the write: nothing queued means everything offered so far is written.
                queued.decrementAndGet();
                wrote = true;
            }
            if (wrote) {
                flushAll();
            }
            if (closed && queue.isEmpty()) {
                break;
            }
            // Set before the queue is looked at, as offer() sets the queue before it looks at these:
            // an entry offered meanwhile is either seen here or wakes the park.
            sleeping = true;
            if (wrote) {
                if (queued.get() < WAKE_AT && !closed) {
                    LockSupport.parkNanos(this, LINGER_NANOS);
                }
            } else {
                idle.set(true);
                if (queue.isEmpty() && !closed) {
                    LockSupport.parkNanos(this, IDLE_NANOS);
                }
                idle.set(false);
            }
            sleeping = false;
        }
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
        RecordFiles out = filesOf(config);
        try {
            encoder.encode(p.entry(), config.redact());
        } catch (RuntimeException e) {
            // Nothing of the entry reached the file: the file goes on.
            failed(p, config, e);
            return;
        }
        try {
            out.append(encoder.bytes(), encoder.size());
            p.counts().written.increment();
        } catch (IOException e) {
            out.abandon();
            failed(p, config, e);
        }
    }

    private static void failed(Pending p, RecordConfig config, Exception e) {
        if (p.counts().failed.sum() == 0) {
            LOG.warn("recording route '{}' to {} failed: {}", p.entry().route(), config.directory(), e.toString());
        }
        p.counts().failed.increment();
    }

    private RecordFiles filesOf(RecordConfig config) {
        if (config != lastConfig) {
            RecordFiles out = files.computeIfAbsent(config.directory().toAbsolutePath().normalize(),
                    dir -> new RecordFiles(dir, clock, config.rotateSize(), config.rotateKeep()));
            out.rotation(config.rotateSize(), config.rotateKeep());
            lastConfig = config;
            lastFiles = out;
        }
        return lastFiles;
    }

    private void flushAll() {
        for (RecordFiles f : files.values()) {
            try {
                f.flush();
            } catch (IOException e) {
                LOG.warn("recording: writing {} failed: {}", f.current(), e.toString());
                f.abandon();
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
