package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.resilience.RateLimits;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;

/**
 * The route's rate limits in front of another admission (the cluster's concurrency): a request
 * over a limit gets 429 {@code rate_limited} at once, is never queued and never counts against
 * the cluster; one within its limits goes on to {@code next}. A request admitted in the end
 * holds one ticket that gives back both what the limits hold for it (its places in
 * {@code max_in_flight}) and the cluster's slot, once.
 */
public final class RateLimitAdmission implements Admission {
    private final Admission next;

    public RateLimitAdmission(Admission next) {
        this.next = next;
    }

    @Override
    public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
        RateLimits limits = route.rateLimits();
        if (limits.isEmpty()) {
            return next.admit(route, cluster, request, resume);
        }
        RateLimits.Release held;
        switch (limits.admit(request)) {
            case RateLimits.Outcome.Refused refused -> {
                return new Decision.Refused(FailureKind.RATE_LIMITED, refused.fields());
            }
            case RateLimits.Outcome.Allowed allowed -> held = allowed.release();
        }
        if (held == RateLimits.Release.NONE) {
            return next.admit(route, cluster, request, resume);
        }
        Holding holding = new Holding(held, resume);
        return switch (next.admit(route, cluster, request, holding)) {
            case Decision.Admitted admitted -> new Decision.Admitted(holding.with(admitted.ticket()));
            case Decision.Refused refused -> {
                holding.letGo();
                yield refused;
            }
            case Decision.Queued queued -> {
                holding.waiting(queued.withdrawal());
                yield new Decision.Queued(holding);
            }
        };
    }

    /**
     * What a request admitted by the limits holds while the next admission decides, and after:
     * given back exactly once, whether the request is admitted and ends, is refused, or leaves
     * while it waits. On the request's event loop only, so a plain flag is enough.
     */
    private static final class Holding implements Resume, Withdrawal {
        private final RateLimits.Release held;
        private final Resume resume;
        private Withdrawal withdrawal;
        private boolean released;

        Holding(RateLimits.Release held, Resume resume) {
            this.held = held;
            this.resume = resume;
        }

        void letGo() {
            if (!released) {
                released = true;
                held.release();
            }
        }

        /** One ticket for both: the next admission's place, then the limits' own. */
        Ticket with(Ticket inner) {
            return (admittedNanos, now, failed) -> {
                inner.release(admittedNanos, now, failed);
                letGo();
            };
        }

        void waiting(Withdrawal inner) {
            this.withdrawal = inner;
        }

        @Override
        public EventLoop loop() {
            return resume.loop();
        }

        @Override
        public long deadlineNanos() {
            return resume.deadlineNanos();
        }

        @Override
        public void admitted(Ticket ticket) {
            resume.admitted(with(ticket));
        }

        @Override
        public void refused(FailureKind kind, ReplyFields fields) {
            letGo();
            resume.refused(kind, fields);
        }

        /**
         * The client left while waiting. The limits' places go back now; if the next admission
         * was already handing the request a slot, that slot comes back through {@link #admitted}
         * and its ticket, whose release of the limits' places is then a no-op.
         */
        @Override
        public void withdraw() {
            withdrawal.withdraw();
            letGo();
        }
    }
}
