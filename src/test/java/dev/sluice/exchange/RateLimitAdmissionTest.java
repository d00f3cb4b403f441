package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.MatchConfig;
import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.config.RetryConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The route's rate limits composed in front of the cluster's admission: a 429 never reaches the
 * cluster, and what the limits hold for a request goes back exactly once however it ends.
 */
class RateLimitAdmissionTest {
    private long now = 1_000_000_000L;

    /** The cluster's admission, as a test scripts it: what it answers, and the resume it was given. */
    private static final class Scripted implements Admission {
        Decision next;
        Resume resume;
        int asked;
        final List<String> released = new ArrayList<>();

        @Override
        public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
            asked++;
            this.resume = resume;
            return next;
        }

        Ticket ticket(String name) {
            return (admittedNanos, now, failed) -> released.add(name);
        }
    }

    /** The exchange's side: how its wait ended. */
    private static final class Waiting implements Admission.Resume {
        final List<String> outcomes = new ArrayList<>();
        Admission.Ticket ticket;

        @Override
        public EventLoop loop() {
            return null;
        }

        @Override
        public long deadlineNanos() {
            return Long.MAX_VALUE;
        }

        @Override
        public void admitted(Admission.Ticket ticket) {
            this.ticket = ticket;
            outcomes.add("admitted");
        }

        @Override
        public void refused(FailureKind kind, ReplyFields fields) {
            outcomes.add("refused " + kind.label());
        }
    }

    private final Scripted cluster = new Scripted();
    private final RateLimitAdmission admission = new RateLimitAdmission(cluster);
    private final Waiting exchange = new Waiting();

    private Route route(RateLimitConfig... limits) {
        return new Route(new RouteConfig("lease", MatchConfig.prefix("/"), "lease", Duration.ofSeconds(30),
                RetryConfig.DEFAULT, List.of(limits)), null, () -> now);
    }

    private static RateLimitConfig maxInFlight(int max) {
        return new RateLimitConfig("client", new Key.Client(), Optional.empty(), 0, max, RateLimitConfig.Mode.ENFORCE,
                64);
    }

    private static Admission.Request from(String client) {
        return new Admission.Request() {
            @Override
            public String client() {
                return client;
            }

            @Override
            public String header(CharSequence name) {
                return null;
            }
        };
    }

    private Admission.Decision admit(Route route) {
        return admission.admit(route, null, from("192.0.2.1"), exchange);
    }

    @Test
    void aRequestOverItsRateIsRefusedWithThePolicysFieldsAndTheClusterIsNeverAsked() {
        Route route = route(RateLimitConfig.of(new Key.Client(), new Rate(1, Duration.ofSeconds(1))));
        cluster.next = new Admission.Decision.Admitted(cluster.ticket("slot"));
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Admitted.class);
        Admission.Decision second = admit(route);
        assertThat(second).isInstanceOf(Admission.Decision.Refused.class);
        Admission.Decision.Refused refused = (Admission.Decision.Refused) second;
        assertThat(refused.kind()).isEqualTo(FailureKind.RATE_LIMITED);
        assertThat(refused.fields().toString()).isEqualTo(
                "retry-after: 1\nratelimit-policy: \"client\";q=1;w=1\nratelimit: \"client\";r=0;t=1");
        assertThat(cluster.asked).isEqualTo(1);
    }

    @Test
    void withNothingHeldTheClustersDecisionGoesThroughAsItIs() {
        Admission.Decision admitted = new Admission.Decision.Admitted(cluster.ticket("slot"));
        cluster.next = admitted;
        assertThat(admit(route())).isSameAs(admitted);
        assertThat(admit(route(RateLimitConfig.of(new Key.Route(), new Rate(5, Duration.ofSeconds(1))))))
                .isSameAs(admitted);
    }

    @Test
    void oneTicketGivesBackTheClustersSlotAndTheInFlightPlaceOnce() {
        Route route = route(maxInFlight(1));
        cluster.next = new Admission.Decision.Admitted(cluster.ticket("slot"));
        Admission.Ticket ticket = ((Admission.Decision.Admitted) admit(route)).ticket();
        assertThat(admit(route)).as("the client's one place is taken").isInstanceOf(Admission.Decision.Refused.class);
        ticket.release(now, now, false);
        assertThat(cluster.released).containsExactly("slot");
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Admitted.class);
    }

    @Test
    void aRequestTheClusterRefusesGivesItsPlaceBackAtOnce() {
        Route route = route(maxInFlight(1));
        cluster.next = new Admission.Decision.Refused(FailureKind.OVERLOADED);
        assertThat(admit(route)).isEqualTo(new Admission.Decision.Refused(FailureKind.OVERLOADED));
        cluster.next = new Admission.Decision.Admitted(cluster.ticket("slot"));
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Admitted.class);
    }

    @Test
    void aQueuedRequestHoldsItsPlaceUntilItsWaitEndsEitherWay() {
        Route route = route(maxInFlight(1));
        List<String> withdrawn = new ArrayList<>();
        cluster.next = new Admission.Decision.Queued(() -> withdrawn.add("withdrawn"));
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Queued.class);
        cluster.resume.refused(FailureKind.OVERLOADED, ReplyFields.NONE);
        assertThat(exchange.outcomes).containsExactly("refused overloaded");

        assertThat(admit(route)).as("the place came back with the refusal").isInstanceOf(Admission.Decision.Queued.class);
        cluster.resume.admitted(cluster.ticket("slot"));
        assertThat(exchange.outcomes).containsExactly("refused overloaded", "admitted");
        cluster.next = new Admission.Decision.Admitted(cluster.ticket("other"));
        assertThat(admit(route)).as("held while admitted").isInstanceOf(Admission.Decision.Refused.class);
        exchange.ticket.release(now, now, false);
        assertThat(cluster.released).containsExactly("slot");
    }

    @Test
    void aClientThatLeavesWhileQueuedGivesItsPlaceBackOnceEvenIfASlotWasOnItsWay() {
        Route route = route(maxInFlight(1));
        List<String> withdrawn = new ArrayList<>();
        cluster.next = new Admission.Decision.Queued(() -> withdrawn.add("withdrawn"));
        Admission.Decision.Queued queued = (Admission.Decision.Queued) admit(route);
        queued.withdrawal().withdraw();
        assertThat(withdrawn).containsExactly("withdrawn");
        // The slot was already being handed over: it arrives, and the exchange gives it back.
        cluster.resume.admitted(cluster.ticket("slot"));
        exchange.ticket.release(now, now, false);
        assertThat(cluster.released).containsExactly("slot");
        // One place, given back once: one request may be in flight again, not two.
        cluster.next = new Admission.Decision.Admitted(cluster.ticket("a"));
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Admitted.class);
        assertThat(admit(route)).isInstanceOf(Admission.Decision.Refused.class);
    }
}
