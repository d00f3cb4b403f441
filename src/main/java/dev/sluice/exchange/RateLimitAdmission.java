package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.resilience.GlobalBuckets;
import dev.sluice.resilience.RateLimits;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The route's rate limits in front of another admission (the cluster's concurrency): a request
 * over a limit gets 429 {@code rate_limited} at once, is never queued and never counts against
 * the cluster; one within its limits goes on to {@code next}. A request admitted in the end
 * holds one ticket that gives back both what the limits hold for it (its places in
 * {@code max_in_flight}) and the cluster's slot, once.
 *
 * <p>A route with global rules asks Redis: the request is {@link Decision.Queued} until the
 * answer, which is brought back to its event loop; a timer there, of {@code redis.timeout}, has
 * local buckets decide what Redis has not answered by then. The loop never waits.
 */
public final class RateLimitAdmission implements Admission {
    private final Admission next;
    private final Supplier<GlobalBuckets> global;

    /** Global rules decided by local buckets of their whole rate (tests, and no Redis). */
    public RateLimitAdmission(Admission next) {
        this(next, () -> GlobalBuckets.NONE);
    }

    /** @param global where global rules count now (a reload may change it) */
    public RateLimitAdmission(Admission next, Supplier<GlobalBuckets> global) {
        this.next = next;
        this.global = global;
    }

    @Override
    public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
        RateLimits limits = route.rateLimits();
        if (limits.isEmpty()) {
            return next.admit(route, cluster, request, resume);
        }
        return switch (limits.admit(request, global.get())) {
            case RateLimits.Outcome.Refused refused -> new Decision.Refused(FailureKind.RATE_LIMITED, refused.fields());
            case RateLimits.Outcome.Allowed allowed -> allowed(allowed, route, cluster, request, resume);
            case RateLimits.Outcome.Pending pending -> {
                AskingRedis asking = new AskingRedis(route, cluster, request, resume);
                asking.start(pending);
                yield new Decision.Queued(asking);
            }
        };
    }

    /** The limits let the request through: on to the next admission, holding what they counted. */
    private Decision allowed(RateLimits.Outcome.Allowed allowed, Route route, Cluster cluster, Request request,
                             Resume resume) {
        for (String rule : allowed.shadowRefusedBy()) {
            request.shadowRefused(rule);
        }
        RateLimits.Release held = allowed.release();
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
     * A request waiting for Redis's answer. Everything but the answer's arrival happens on the
     * request's loop; the answer is handed over to it, so no field is shared between threads.
     */
    private final class AskingRedis implements Withdrawal {
        private final Route route;
        private final Cluster cluster;
        private final Request request;
        private final Resume resume;
        private ScheduledFuture<?> timeout;
        /** Set once the answer is in and the request went on to the next admission, which may queue it. */
        private Withdrawal next;
        private boolean answered;
        private boolean withdrawn;

        AskingRedis(Route route, Cluster cluster, Request request, Resume resume) {
            this.route = route;
            this.cluster = cluster;
            this.request = request;
            this.resume = resume;
        }

        void start(RateLimits.Outcome.Pending pending) {
            timeout = resume.loop().schedule(pending::timedOut, pending.timeoutNanos(), TimeUnit.NANOSECONDS);
            pending.outcome().whenComplete((outcome, error) -> resume.loop().execute(() ->
                    // A limit that cannot say never refuses: fail open, as with Redis down.
                    answered(error == null ? outcome : new RateLimits.Outcome.Allowed(RateLimits.Release.NONE))));
        }

        /** On the request's loop. */
        private void answered(RateLimits.Outcome outcome) {
            answered = true;
            timeout.cancel(false);
            if (withdrawn) {
                if (outcome instanceof RateLimits.Outcome.Allowed allowed) {
                    allowed.release().release();
                }
                return;
            }
            switch (outcome) {
                case RateLimits.Outcome.Refused refused -> resume.refused(FailureKind.RATE_LIMITED, refused.fields());
                case RateLimits.Outcome.Allowed allowed -> {
                    switch (allowed(allowed, route, cluster, request, resume)) {
                        case Decision.Admitted admitted -> resume.admitted(admitted.ticket());
                        case Decision.Refused refused -> resume.refused(refused.kind(), refused.fields());
                        case Decision.Queued queued -> next = queued.withdrawal();
                    }
                }
                // A pending outcome completes with a decision, never another wait.
                case RateLimits.Outcome.Pending pending -> throw new IllegalStateException("pending twice");
            }
        }

        /** On the request's loop: its client went away. */
        @Override
        public void withdraw() {
            if (next != null) {
                next.withdraw();
            } else if (!answered) {
                withdrawn = true;
            }
        }
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
        public long queueTimeoutNanos(long configured, long now) {
            return resume.queueTimeoutNanos(configured, now);
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
