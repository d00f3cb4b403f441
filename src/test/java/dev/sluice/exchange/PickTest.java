package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClusterConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PickTest {
    private static Cluster cluster(int endpoints) {
        return cluster(endpoints, false);
    }

    /** Health-checked endpoints start pending their first check, and are never picked until it passes. */
    private static Cluster cluster(int endpoints, boolean healthChecked) {
        List<Endpoint> list = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            list.add(new Endpoint("c", "e" + i, InetSocketAddress.createUnresolved("e" + i, 80), Map.of(), 1,
                    healthChecked, 0));
        }
        return new Cluster(ClusterConfig.of("c", List.of()), list, 0);
    }

    private static long all(Cluster cluster) {
        long mask = 0;
        for (Endpoint e : cluster.endpoints()) {
            mask |= cluster.bitOf(e);
        }
        return mask;
    }

    @Test
    void aFirstAttemptGoesToAnEndpointNotYetTried() {
        Cluster cluster = cluster(2);
        Endpoint first = cluster.endpoints().get(0);
        Pick pick = Pick.next(cluster, cluster.bitOf(first), 0, null, 0);
        assertThat(pick).isEqualTo(new Pick.To(cluster.endpoints().get(1)));
    }

    @Test
    void aClusterWithNothingToPickAnswersNoHealthyEndpoint() {
        assertThat(Pick.next(cluster(2, true), 0, 0, null, 0)).isEqualTo(new Pick.None(FailureKind.NO_HEALTHY_ENDPOINT));
    }

    @Test
    void onceEveryEndpointRefusedTheAnswerIsTheLastFailure() {
        Cluster cluster = cluster(2);
        // An unprocessed failure never reached an application: going back to an endpoint that refused is pointless.
        assertThat(Pick.next(cluster, all(cluster), 1, FailureKind.CONNECT_REFUSED, 0))
                .isEqualTo(new Pick.None(FailureKind.CONNECT_REFUSED));
        assertThat(Pick.next(cluster, all(cluster), 0, FailureKind.CONNECT_TIMEOUT, 0))
                .isEqualTo(new Pick.None(FailureKind.CONNECT_TIMEOUT));
    }

    @Test
    void aRetryOfProcessedWorkMayRevisitAnEndpointOnceAllWereTried() {
        Cluster cluster = cluster(2);
        assertThat(Pick.next(cluster, all(cluster), 1, FailureKind.RESET_BEFORE_RESPONSE, 0)).isInstanceOf(Pick.To.class);
        // A retried status (no failure kind) likewise.
        assertThat(Pick.next(cluster, all(cluster), 1, null, 0)).isInstanceOf(Pick.To.class);
        // But not before a retry was decided: a first attempt never revisits.
        assertThat(Pick.next(cluster, all(cluster), 0, FailureKind.RESET_BEFORE_RESPONSE, 0))
                .isEqualTo(new Pick.None(FailureKind.RESET_BEFORE_RESPONSE));
    }
}
