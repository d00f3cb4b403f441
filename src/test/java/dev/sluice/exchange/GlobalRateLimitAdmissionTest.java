package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.MatchConfig;
import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.config.RateLimitConfig.Scope;
import dev.sluice.config.RetryConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.resilience.GlobalBuckets;
import dev.sluice.route.Route;
import dev.sluice.testing.Await;
import dev.sluice.upstream.Cluster;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A route with a global rule: the request waits (Queued) while Redis is asked, and goes on on its
 * own event loop when the answer comes, or when its timeout there has a local bucket decide; a
 * client that leaves meanwhile gives back what the local rules held for it.
 */
class GlobalRateLimitAdmissionTest {
    private final EventLoop loop = new DefaultEventLoop();
    private final Store store = new Store();
    private final RateLimitAdmission admission = new RateLimitAdmission(
            (route, cluster, request, resume) -> new Admission.Decision.Admitted(Admission.Ticket.NONE), () -> store);

    /** Redis as the test answers it: each ask waits for the test, or for ever. */
    private static final class Store implements GlobalBuckets {
        final List<CompletableFuture<ConsumptionProbe>> asks = new CopyOnWriteArrayList<>();
        final List<String> failures = new CopyOnWriteArrayList<>();
        volatile boolean shared = true;
        long timeoutNanos = TimeUnit.SECONDS.toNanos(30);

        @Override
        public boolean shared() {
            return shared;
        }

        @Override
        public Replicas replicas() {
            return new Replicas(2, "config");
        }

        @Override
        public long timeoutNanos() {
            return timeoutNanos;
        }

        @Override
        public CompletableFuture<ConsumptionProbe> tryTake(byte[] key, BucketConfiguration config) {
            CompletableFuture<ConsumptionProbe> ask = new CompletableFuture<>();
            asks.add(ask);
            return ask;
        }

        @Override
        public void giveBack(byte[] key, BucketConfiguration config) {
        }

        @Override
        public void failed(String why) {
            failures.add(why);
            shared = false;
        }
    }

    /** The exchange's side: how its wait ended, and on which thread. */
    private final class Exchange implements Admission.Resume, Admission.Request {
        final List<String> outcomes = new CopyOnWriteArrayList<>();
        final List<String> shadowRefusedBy = new CopyOnWriteArrayList<>();
        volatile Admission.Ticket ticket;

        @Override
        public EventLoop loop() {
            return loop;
        }

        @Override
        public long deadlineNanos() {
            return Long.MAX_VALUE;
        }

        @Override
        public void admitted(Admission.Ticket ticket) {
            this.ticket = ticket;
            outcomes.add("admitted" + (loop.inEventLoop() ? " on its loop" : " elsewhere"));
        }

        @Override
        public void refused(FailureKind kind, ReplyFields fields) {
            outcomes.add("refused " + kind.label() + (loop.inEventLoop() ? " on its loop" : " elsewhere"));
        }

        @Override
        public String client() {
            return "192.0.2.1";
        }

        @Override
        public String header(CharSequence name) {
            return null;
        }

        @Override
        public void shadowRefused(String rule) {
            shadowRefusedBy.add(rule);
        }
    }

    @AfterEach
    void stopLoop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static Route route(RateLimitConfig... limits) {
        return new Route(new RouteConfig("lease", MatchConfig.prefix("/"), "lease", Duration.ofSeconds(30),
                RetryConfig.DEFAULT, List.of(limits)), null, System::nanoTime);
    }

    private static RateLimitConfig global(long perSecond, Mode mode) {
        return new RateLimitConfig("api", new Key.Route(), Optional.of(new Rate(perSecond, Duration.ofSeconds(1))),
                perSecond, 0, mode, 1, Scope.GLOBAL);
    }

    private static RateLimitConfig inFlight(int max) {
        return new RateLimitConfig("client", new Key.Client(), Optional.empty(), 0, max, Mode.ENFORCE, 64);
    }

    /** Admits on the loop, as the exchange does. */
    private Admission.Decision admit(Route route, Exchange exchange) throws Exception {
        return loop.submit(() -> admission.admit(route, (Cluster) null, exchange, exchange)).get(5, TimeUnit.SECONDS);
    }

    private static ConsumptionProbe taken() {
        return ConsumptionProbe.consumed(9, 0);
    }

    @Test
    void theRequestWaitsForRedisAndGoesOnOnItsOwnLoopWhenItAnswers() throws Exception {
        Route route = route(global(10, Mode.ENFORCE));
        Exchange exchange = new Exchange();
        assertThat(admit(route, exchange)).isInstanceOf(Admission.Decision.Queued.class);
        assertThat(exchange.outcomes).isEmpty();
        // Redis answers on its own thread (here, the test's).
        store.asks.get(0).complete(taken());
        Await.until(Duration.ofSeconds(5), () -> !exchange.outcomes.isEmpty(), "the answer");
        assertThat(exchange.outcomes).containsExactly("admitted on its loop");
    }

    @Test
    void aRefusalFromRedisIsA429OnTheRequestsLoop() throws Exception {
        Route route = route(global(10, Mode.ENFORCE));
        Exchange exchange = new Exchange();
        admit(route, exchange);
        store.asks.get(0).complete(ConsumptionProbe.rejected(0, 100_000_000L, 100_000_000L));
        Await.until(Duration.ofSeconds(5), () -> !exchange.outcomes.isEmpty(), "the answer");
        assertThat(exchange.outcomes).containsExactly("refused rate_limited on its loop");
    }

    @Test
    void noAnswerWithinTheTimeoutHasTheLocalShareDecideAndLaterRequestsDoNotWait() throws Exception {
        store.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(20);
        Route route = route(global(10, Mode.ENFORCE));
        Exchange first = new Exchange();
        assertThat(admit(route, first)).isInstanceOf(Admission.Decision.Queued.class);
        Await.until(Duration.ofSeconds(5), () -> !first.outcomes.isEmpty(), "the timeout");
        assertThat(first.outcomes).containsExactly("admitted on its loop");
        assertThat(store.failures).containsExactly("no answer within 20 ms");
        assertThat(admit(route, new Exchange())).as("decided at once while Redis is down")
                .isInstanceOf(Admission.Decision.Admitted.class);
        assertThat(store.asks).hasSize(1);
    }

    @Test
    void aClientThatLeavesWhileRedisIsAskedGivesBackItsPlaceInFlight() throws Exception {
        Route route = route(inFlight(1), global(10, Mode.ENFORCE));
        Exchange leaving = new Exchange();
        Admission.Decision.Queued queued = (Admission.Decision.Queued) admit(route, leaving);
        loop.submit(() -> queued.withdrawal().withdraw()).get(5, TimeUnit.SECONDS);
        store.asks.get(0).complete(taken());
        Exchange next = new Exchange();
        assertThat(admit(route, next)).as("its place was given back").isInstanceOf(Admission.Decision.Queued.class);
        store.asks.get(1).complete(taken());
        Await.until(Duration.ofSeconds(5), () -> !next.outcomes.isEmpty(), "the answer");
        assertThat(next.outcomes).containsExactly("admitted on its loop");
        assertThat(leaving.outcomes).as("nothing for a client that left").isEmpty();
        loop.submit(() -> next.ticket.release(0, 0, false)).get(5, TimeUnit.SECONDS);
        assertThat(admit(route, new Exchange())).as("and the admitted one's on its end")
                .isInstanceOf(Admission.Decision.Queued.class);
    }

    @Test
    void aGlobalShadowRuleThatWouldHaveRefusedIsToldToTheRequest() throws Exception {
        Route route = route(global(10, Mode.SHADOW));
        Exchange exchange = new Exchange();
        admit(route, exchange);
        store.asks.get(0).complete(ConsumptionProbe.rejected(0, 100_000_000L, 100_000_000L));
        Await.until(Duration.ofSeconds(5), () -> !exchange.outcomes.isEmpty(), "the answer");
        assertThat(exchange.outcomes).containsExactly("admitted on its loop");
        assertThat(exchange.shadowRefusedBy).containsExactly("api");
    }
}
