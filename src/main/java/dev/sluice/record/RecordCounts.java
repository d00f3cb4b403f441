package dev.sluice.record;

import java.util.concurrent.atomic.LongAdder;

/**
 * What became of one route's sampled exchanges: written, dropped because the recorder's queue was
 * full (never waited for), or lost to a failed write (the disk). Shared by the event loops and the
 * recorder's thread; read by {@code /status} and {@code /metrics}.
 */
public final class RecordCounts {
    final LongAdder written = new LongAdder();
    final LongAdder dropped = new LongAdder();
    final LongAdder failed = new LongAdder();

    public long written() {
        return written.sum();
    }

    public long dropped() {
        return dropped.sum();
    }

    public long failed() {
        return failed.sum();
    }
}
