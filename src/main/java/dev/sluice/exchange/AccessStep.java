package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpRequest;

/**
 * The access step, then the forward-auth step: a request's way past its route's access rules
 * (addresses, basic auth, CORS; {@link AccessCheck}) and then past its auth service
 * ({@link AuthCheck}), which is asked only about a client the rules let in. The two give the
 * exchange one {@link AccessCheck.Decision}: at once, or later on the request's loop when a
 * check went off it ({@code Pending} first, then the outcome). {@code Allowed} means both let the
 * request in; the fields the rules add to the response (CORS) are kept here for whatever answers it.
 */
final class AccessStep implements AccessCheck.Resume {
    /** The exchange, told each decision on the request's loop. */
    interface Outcome {
        void accessDecided(AccessCheck.Decision decision);

        /** The exchange ended (its client left, its body failed) while a check was off the loop. */
        boolean ended();
    }

    private final ExchangeContext context;
    private final Route route;
    private final HttpRequest request;
    private final String requestId;
    private final String clientAddress;
    private final boolean clientTrusted;
    private final boolean secure;
    /** The cluster the route's {@code forward_auth} asks; null for a route without it. */
    private final Cluster authService;
    private final Outcome outcome;
    private ReplyFields responseFields = ReplyFields.NONE;

    /**
     * @param clientAddress the client's address, as the auth request's {@code X-Forwarded-For} names it
     * @param clientTrusted whether the peer is a trusted proxy, whose {@code X-Forwarded-*} are believed
     * @param secure the client came over TLS
     */
    AccessStep(ExchangeContext context, Snapshot snapshot, Route route, HttpRequest request, String requestId,
               String clientAddress, boolean clientTrusted, boolean secure, Outcome outcome) {
        this.context = context;
        this.route = route;
        this.request = request;
        this.requestId = requestId;
        this.clientAddress = clientAddress;
        this.clientTrusted = clientTrusted;
        this.secure = secure;
        this.authService = route.forwardAuth().map(auth -> snapshot.clusters().get(auth.service().clusterName()))
                .orElse(null);
        this.outcome = outcome;
    }

    /** Checks the request against the route's rules; the decision goes to the {@link Outcome}. */
    void start(RequestKeys keys, long now) {
        AccessCheck.Decision decision = AccessCheck.check(route, request, keys, context.passwordChecks(), this);
        if (decision instanceof AccessCheck.Decision.Allowed allowed) {
            rulesAllowed(allowed.responseFields(), now);
        } else {
            outcome.accessDecided(decision);
        }
    }

    /** Fields added to whatever answers the request (CORS): none until the rules let it in. */
    ReplyFields responseFields() {
        return responseFields;
    }

    /** The rules let the request in: on to its auth service, if the route forwards to a cluster and has one. */
    private void rulesAllowed(ReplyFields fields, long now) {
        responseFields = fields;
        if (authService == null || !route.forwards()) {
            outcome.accessDecided(new AccessCheck.Decision.Allowed(fields));
            return;
        }
        // The body stays unread (no bodyWanted, no 100 Continue) while the service is asked.
        AuthCheck check = new AuthCheck(context, this::authDecided, route.forwardAuth().get(), authService);
        authDecided(check.start(request, requestId, clientAddress, clientTrusted, secure, now));
    }

    /** The auth service's decision: an {@code Allowed} carries the rules' response fields on. */
    private void authDecided(AccessCheck.Decision decision) {
        outcome.accessDecided(decision instanceof AccessCheck.Decision.Allowed
                ? new AccessCheck.Decision.Allowed(responseFields) : decision);
    }

    @Override
    public EventLoop loop() {
        return context.loop();
    }

    /** Let in by the rules after an off-loop check of its credentials. */
    @Override
    public void accessAllowed(ReplyFields fields) {
        if (!outcome.ended()) {
            rulesAllowed(fields, context.nanoTime());
        }
    }

    @Override
    public void refused(FailureKind kind, ReplyFields fields) {
        outcome.accessDecided(new AccessCheck.Decision.Refused(kind, fields));
    }
}
