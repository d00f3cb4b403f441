package dev.sluice.access;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where password hashes are checked: a few threads of their own, so an event loop never spends
 * the milliseconds a bcrypt or argon2id check takes. Handing a check over takes no lock (the
 * server gives an executor whose queue is lock-free), and at most {@link #MAX_WAITING} wait: a
 * flood of new credentials is refused ({@code offer} answers false) rather than queued for
 * seconds while every other request waits behind it.
 */
public final class PasswordChecks {
    /**
     * 64: at a bcrypt cost of 10 (~60 ms on one core) two threads get through ~30 checks a
     * second, so the last of 64 waits about two seconds, which a login prompt still bears. Known
     * credentials never get here: they are cached ({@link BasicAuth}).
     */
    static final int MAX_WAITING = 64;
    /** 2: enough for the new logins of a busy site; more would take cores from the event loops. */
    public static final int THREADS = 2;

    /** Checks nothing: every offer is declined (a gateway without a checking executor, in tests). */
    public static final PasswordChecks NONE = new PasswordChecks(null);

    private final Executor executor;
    private final AtomicInteger waiting = new AtomicInteger();

    /** @param executor runs the checks, off the event loops; its {@code execute} must not block */
    public PasswordChecks(Executor executor) {
        this.executor = executor;
    }

    /** Runs {@code check} on a checking thread; false, and nothing run, when too many wait already. */
    public boolean offer(Runnable check) {
        if (executor == null) {
            return false;
        }
        if (waiting.incrementAndGet() > MAX_WAITING) {
            waiting.decrementAndGet();
            return false;
        }
        executor.execute(() -> {
            try {
                check.run();
            } finally {
                waiting.decrementAndGet();
            }
        });
        return true;
    }
}
