package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.resilience.RateLimits;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;

/**
 * The admit step: whether a routed request may go on to its cluster now, later, or not at all.
 * The seam where concurrency limits and rate limits plug in (the gateway's is
 * {@link RateLimitAdmission} in front of {@link ConcurrencyAdmission}; {@link #ALL} admits
 * everything).
 *
 * <p>Called on the request's event loop; it must answer at once (never wait on a lock or the
 * network). A request it cannot admit yet waits ({@link Decision.Queued}) and is resumed later on
 * its own loop. An admitted request holds a {@link Ticket}, which the exchange gives back exactly
 * once, when the request ends however it ends.
 */
public interface Admission {
    Decision admit(Route route, Cluster cluster, Request request, Resume resume);

    /** What the admit step reads of the request: who sent it and its header fields, the keys of rate limits. */
    interface Request extends RateLimits.Keys {
        /** A shadow rate limit ({@code rule}) would have refused this request, which goes on: for the access log. */
        default void shadowRefused(String rule) {
        }
    }

    /** What the admit step decided. */
    sealed interface Decision {
        record Admitted(Ticket ticket) implements Decision {}

        /**
         * Refused with a kind (503 {@code overloaded}, 429 {@code rate_limited}) that the client is
         * told, and the fields of the policy that refused it ({@code Retry-After}, {@code RateLimit}).
         */
        record Refused(FailureKind kind, ReplyFields fields) implements Decision {
            public Refused(FailureKind kind) {
                this(kind, ReplyFields.NONE);
            }
        }

        /**
         * Waiting for a place: {@link Resume} is called once, on the request's loop, with the
         * outcome, unless the request gives up first ({@link Withdrawal#withdraw}).
         */
        record Queued(Withdrawal withdrawal) implements Decision {}
    }

    /** A waiting request, resumed when its wait ends. */
    interface Resume {
        /** The event loop the request is served on: the outcome is delivered there. */
        EventLoop loop();

        /** When the request's own time runs out (its route's timeout); it never waits past it. */
        long deadlineNanos();

        void admitted(Ticket ticket);

        void refused(FailureKind kind, ReplyFields fields);

        /**
         * The longest this request waits in a cluster's queue, given the cluster's {@code queue_timeout}:
         * that, unless an earlier step promised it more (a request held while its app started
         * waits for its backlog to drain as long as its hold allows).
         */
        default long queueTimeoutNanos(long configured, long now) {
            return configured;
        }
    }

    /** A waiting request that stops waiting (its client went away). */
    interface Withdrawal {
        void withdraw();
    }

    /** A place taken by an admitted request, given back when it ends. */
    interface Ticket {
        /**
         * The request ended.
         *
         * @param admittedNanos when it was admitted
         * @param failed whether Sluice answered it with a failure (a sample a limiter may use)
         */
        void release(long admittedNanos, long now, boolean failed);

        Ticket NONE = (admittedNanos, now, failed) -> { };
    }

    Admission ALL = new Admission() {
        private final Decision admitted = new Decision.Admitted(Ticket.NONE);

        @Override
        public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
            return admitted;
        }
    };
}
