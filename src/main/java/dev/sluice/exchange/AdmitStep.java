package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;

/**
 * The admit step: the route's rate limits and the cluster's concurrency ({@link Admission}). A
 * request is admitted at once, refused at once, or waits (in its cluster's queue, for Redis, for
 * its app to start) until a place frees or its wait runs out, never past its route's timeout; the
 * outcome goes to the exchange on its loop ({@link Outcome}). The step holds the admission ticket
 * from then to the exchange's end and gives it back once; a request whose client leaves while it
 * waits withdraws. Used on the request's loop only.
 */
final class AdmitStep implements Admission.Resume {
    /** Where the admit step's outcome goes: the exchange. */
    interface Outcome {
        /** Admitted (logged already): the first attempt goes out. */
        void admitted(long now);

        /** Refused, at once or after a wait that ran out. */
        void refused(FailureKind kind, ReplyFields fields);

        /** The exchange ended (its client left) while the place was being handed over. */
        boolean ended();
    }

    private final ExchangeContext context;
    private final RequestLog log;
    private final long deadlineNanos;
    private final Outcome outcome;
    /** Held from admission to the exchange's end; given back once, by {@link #release}. */
    private Admission.Ticket ticket;
    /** Set while the request waits: how it stops waiting if its client leaves. */
    private Admission.Withdrawal waiting;

    /** @param deadlineNanos when the request's route timeout runs out, counted from its routing */
    AdmitStep(ExchangeContext context, RequestLog log, long deadlineNanos, Outcome outcome) {
        this.context = context;
        this.log = log;
        this.deadlineNanos = deadlineNanos;
        this.outcome = outcome;
    }

    /** Asks for a place: a deposit in the cluster's retry budget, then the route's limits and the cluster's gate. */
    void admit(Route route, Cluster cluster, RequestKeys keys) {
        cluster.retryBudget().deposit();
        switch (context.admission().admit(route, cluster, keys, this)) {
            case Admission.Decision.Refused refused -> outcome.refused(refused.kind(), refused.fields());
            case Admission.Decision.Admitted admitted -> admitted(admitted.ticket());
            case Admission.Decision.Queued queued -> waiting = queued.withdrawal();
        }
    }

    @Override
    public EventLoop loop() {
        return context.loop();
    }

    @Override
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** Admitted, now or after a wait. */
    @Override
    public void admitted(Admission.Ticket ticket) {
        waiting = null;
        long now = context.nanoTime();
        if (outcome.ended()) {
            // Its client left while the place was being handed over: the place goes back at once.
            ticket.release(now, now, false);
            return;
        }
        this.ticket = ticket;
        log.admitted(now);
        outcome.admitted(now);
    }

    /** Refused admission, at once or after a wait that ran out. */
    @Override
    public void refused(FailureKind kind, ReplyFields fields) {
        waiting = null;
        outcome.refused(kind, fields);
    }

    /** The client went away: a request still waiting gives up its place in line. */
    void withdraw() {
        if (waiting != null) {
            waiting.withdraw();
            waiting = null;
        }
    }

    /** The exchange ended: the place goes back, once. */
    void release(boolean failed) {
        if (ticket != null) {
            ticket.release(log.admittedNanos(), context.nanoTime(), failed);
            ticket = null;
        }
    }
}
