package dev.sluice.observe;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The access log of one thread (an event loop, or any other thread that logs): it encodes each
 * line into its current batch and hands a full batch to the {@link AccessLogWriter}, which gives
 * it back once written. Nothing here is shared with another event loop, and nothing waits: when
 * every batch is with the writer (a slow disk, a blocked stdout), the line is dropped and counted.
 *
 * <p>The writer also reads the current batch, up to the last whole line ({@link Batch#committed},
 * published with release semantics after each line), so that lines reach the file within the
 * flush interval however slowly the batch fills.
 */
final class AccessLogLane {
    /** 64 KiB: one write(2) per ~150 lines, and what nginx's {@code access_log ... buffer=64k} uses. */
    static final int BATCH_BYTES = 64 * 1024;
    /**
     * 32 batches (2 MiB, allocated only as a backlog needs them): ~60 ms of lines at 80,000
     * requests a second on one event loop, the writer's slack before lines are dropped.
     */
    static final int MAX_BATCHES = 32;

    private static final VarHandle CURRENT;
    private static final VarHandle DROPPED;
    private static final VarHandle COMMITTED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CURRENT = lookup.findVarHandle(AccessLogLane.class, "current", Batch.class);
            DROPPED = lookup.findVarHandle(AccessLogLane.class, "dropped", long.class);
            COMMITTED = lookup.findVarHandle(Batch.class, "committed", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Bytes of whole lines, written by the lane and then (once handed over) read by the writer. */
    static final class Batch {
        final AccessLogLane lane;
        byte[] bytes;
        /** The end of the last whole line; written by the lane with release, read by the writer with acquire. */
        private int committed;
        /** Position in this lane's sequence of batches; the writer writes them in that order. */
        long sequence;
        /** How much of {@link #bytes} the writer has written: the writer's alone. */
        int written;

        Batch(AccessLogLane lane, int size) {
            this.lane = lane;
            this.bytes = new byte[size];
        }

        int committed() {
            return (int) COMMITTED.getAcquire(this);
        }
    }

    final Thread thread;
    private final AccessLogWriter writer;
    private final AccessLineEncoder encoder;
    /** Batches the writer has written and given back. */
    final ConcurrentLinkedQueue<Batch> free = new ConcurrentLinkedQueue<>();
    /** Written by this lane with release; read by the writer with acquire. */
    private Batch current;
    /** Written by this lane with release; read by anyone with acquire. */
    private long dropped;
    private int allocated;
    private long nextSequence;
    /** The sequence of the last batch the writer wrote to its end: the writer's alone. */
    long finishedSequence;

    AccessLogLane(Thread thread, AccessLogWriter writer, QueryRedaction redaction) {
        this.thread = thread;
        this.writer = writer;
        this.encoder = new AccessLineEncoder(redaction);
    }

    /** Encodes the line into the current batch; false if it was dropped (no batch free). */
    boolean append(RequestLog r) {
        int max = encoder.maxLength(r);
        Batch b = current;
        if (b == null || b.bytes.length - b.committed < max) {
            b = nextBatch(b, max);
            if (b == null) {
                DROPPED.setRelease(this, dropped + 1);
                return false;
            }
        }
        int end = encoder.encode(r, b.bytes, b.committed);
        COMMITTED.setRelease(b, end);
        return true;
    }

    /** Hands {@code full} to the writer and takes a free batch with room for {@code max} bytes, or returns null. */
    private Batch nextBatch(Batch full, int max) {
        CURRENT.setRelease(this, (Batch) null);
        Batch b;
        if (full != null && full.committed == 0) {
            // Empty, only too small for this line: it stays current.
            b = full;
        } else {
            if (full != null) {
                writer.submit(full);
            }
            // The writer may already have given back the batch just submitted: it is a fresh one too.
            b = free.poll();
            if (b == null && allocated < MAX_BATCHES) {
                b = new Batch(this, BATCH_BYTES);
                allocated++;
            }
            if (b == null) {
                return null;
            }
            COMMITTED.setRelease(b, 0);
            b.sequence = ++nextSequence;
        }
        if (b.bytes.length < max) {
            // A line longer than a batch (a long path of escaped bytes): this batch grows to hold
            // it, and the writer gives it back at the usual size.
            b.bytes = new byte[max];
        }
        CURRENT.setRelease(this, b);
        return b;
    }

    /** The batch being filled, for the writer (which may write its whole lines), or null. */
    Batch current() {
        return (Batch) CURRENT.getAcquire(this);
    }

    long dropped() {
        return (long) DROPPED.getAcquire(this);
    }
}
