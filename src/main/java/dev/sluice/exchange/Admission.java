package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;

/**
 * The admit step: whether a routed request may go on to its cluster now. The seam where
 * concurrency limits and rate limits plug in; {@link #ALL} admits everything.
 *
 * <p>Called on the request's event loop; must answer at once (never wait on a lock or the
 * network). A policy that admits hands out a {@link Ticket} that the exchange gives back
 * exactly once, when the request ends however it ends.
 */
public interface Admission {
    Decision admit(Route route, Cluster cluster, RequestLog request);

    /** What the admit step decided. */
    sealed interface Decision {
        record Admitted(Ticket ticket) implements Decision {}

        /** Refused with a kind (503 {@code overloaded}, 429 {@code rate_limited}) that the client is told. */
        record Refused(FailureKind kind) implements Decision {}
    }

    /** A place taken by an admitted request, given back when it ends. */
    interface Ticket {
        /** The request ended; {@code failed} says whether Sluice answered it with a failure (a sample a limiter may use). */
        void release(boolean failed);

        Ticket NONE = failed -> { };
    }

    Admission ALL = new Admission() {
        private final Decision admitted = new Decision.Admitted(Ticket.NONE);

        @Override
        public Decision admit(Route route, Cluster cluster, RequestLog request) {
            return admitted;
        }
    };
}
