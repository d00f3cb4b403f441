package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.resilience.ConcurrencyGate;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Admission by each cluster's {@link ConcurrencyGate}: a free slot admits at once; over the
 * limit, a request waits in the cluster's queue for at most {@code queue_timeout}, and never past
 * its route's timeout; a full queue or a wait that runs out is a fast 503 {@code overloaded} with
 * {@code Retry-After}, instead of a request queued in the backend until it times out.
 */
public final class ConcurrencyAdmission implements Admission {
    private static final Decision OVERLOADED = new Decision.Refused(FailureKind.OVERLOADED);

    private final java.util.function.LongSupplier nanoClock;

    public ConcurrencyAdmission(java.util.function.LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    @Override
    public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
        ConcurrencyGate gate = cluster.concurrency();
        if (gate.tryEnter()) {
            return new Decision.Admitted(ticketOf(gate));
        }
        Waiting waiting = new Waiting(gate, resume);
        long now = nanoClock.getAsLong();
        return switch (gate.enqueue(waiting, now)) {
            case ConcurrencyGate.Entry.Full full -> OVERLOADED;
            case ConcurrencyGate.Entry.Queued queued -> {
                long wait = Math.min(resume.queueTimeoutNanos(gate.config().queueTimeout().toNanos(), now),
                        Math.max(0, resume.deadlineNanos() - now));
                waiting.start(queued.place(), wait);
                yield new Decision.Queued(waiting);
            }
        };
    }

    /** The gate's own ticket: no allocation per admitted request. */
    private static Ticket ticketOf(ConcurrencyGate gate) {
        return gate::exit;
    }

    /** One request waiting in a gate's queue: its timer, and the hand-over to its event loop. */
    private static final class Waiting implements ConcurrencyGate.Waiter, Withdrawal {
        private final ConcurrencyGate gate;
        private final Resume resume;
        private ConcurrencyGate.Wait wait;
        private ScheduledFuture<?> timeout;

        Waiting(ConcurrencyGate gate, Resume resume) {
            this.gate = gate;
            this.resume = resume;
        }

        void start(ConcurrencyGate.Wait wait, long nanos) {
            this.wait = wait;
            // On the request's loop, like everything else it does: no other thread touches it.
            timeout = resume.loop().schedule(this::timedOut, nanos, TimeUnit.NANOSECONDS);
        }

        private void timedOut() {
            if (wait.withdraw(true)) {
                resume.refused(FailureKind.OVERLOADED, ReplyFields.NONE);
            }
        }

        /** Called by whichever thread freed the slot: the request goes on on its own loop. */
        @Override
        public void admitted() {
            resume.loop().execute(() -> {
                if (timeout != null) {
                    timeout.cancel(false);
                }
                resume.admitted(ticketOf(gate));
            });
        }

        /** On the request's loop: its client went away while it waited. */
        @Override
        public void withdraw() {
            if (wait.withdraw(false)) {
                timeout.cancel(false);
            }
        }
    }
}
