package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.upstream.Affinity;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;

/** The pick step's answer: the endpoint an attempt goes to, or why there is none. */
sealed interface Pick {
    record To(Endpoint endpoint) implements Pick {}

    record None(FailureKind why) implements Pick {}

    /**
     * The next endpoint for a request that already tried those in {@code triedMask}. A retry of
     * the same work (a reset idempotent request, a retried status) may revisit one once every
     * endpoint was tried; a request that never reached an application (an unprocessed failure)
     * is not sent back to an endpoint that refused it. With none left, the reason is the last
     * failure, or {@code no_healthy_endpoint} for a first attempt.
     */
    static Pick next(Cluster cluster, long triedMask, int retries, FailureKind lastFailure, long now) {
        return next(cluster, triedMask, retries, lastFailure, Affinity.NONE, now);
    }

    /**
     * As above, for a request with {@code affinity} to a sticky cluster: its own endpoint first
     * while that one can take it and was not tried; after a failure there, the retry goes elsewhere
     * as for any request.
     */
    static Pick next(Cluster cluster, long triedMask, int retries, FailureKind lastFailure, Affinity affinity,
                     long now) {
        Endpoint endpoint = cluster.pick(triedMask, now, affinity);
        if (endpoint == null && retries > 0 && (lastFailure == null || !lastFailure.unprocessed())) {
            endpoint = cluster.pick(0, now, affinity);
        }
        if (endpoint == null) {
            return new None(lastFailure != null ? lastFailure : FailureKind.NO_HEALTHY_ENDPOINT);
        }
        return new To(endpoint);
    }
}
