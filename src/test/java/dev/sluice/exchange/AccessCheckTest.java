package dev.sluice.exchange;

import static dev.sluice.access.PasswordHashing.basic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.access.PasswordChecks;
import dev.sluice.access.PasswordHashing;
import dev.sluice.config.AccessConfig;
import dev.sluice.config.BasicAuthConfig;
import dev.sluice.config.CorsConfig;
import dev.sluice.config.MatchConfig;
import dev.sluice.config.PasswordHashConfig;
import dev.sluice.config.RouteConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The access step's decisions, without sockets: at once, or pending a hash check and resumed on the request's loop. */
class AccessCheckTest {
    private final EventLoop loop = new DefaultEventLoop();
    private final Queue<Runnable> held = new ArrayDeque<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static Route route(AccessConfig access) {
        return new Route(new RouteConfig("r", MatchConfig.prefix("/"), "app", RouteConfig.DEFAULT_TIMEOUT,
                dev.sluice.config.RetryConfig.DEFAULT, List.of(), dev.sluice.config.PathRewriteConfig.NONE,
                dev.sluice.config.UpstreamHostConfig.CLIENT, dev.sluice.config.HeaderRulesConfig.NONE,
                dev.sluice.config.HeaderRulesConfig.NONE, Optional.empty(), OptionalLong.empty(), access));
    }

    private static final AccessConfig STAFF = new AccessConfig(List.of(), List.of(), Optional.of(new BasicAuthConfig(
            "Staff", "/etc/users", List.of(new BasicAuthConfig.User("alice",
                    new PasswordHashConfig.Bcrypt(PasswordHashing.bcrypt("wonderland")))), false)), Optional.empty());

    private static HttpRequest request(String... fields) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x");
        for (int i = 0; i < fields.length; i += 2) {
            r.headers().add(fields[i], fields[i + 1]);
        }
        return r;
    }

    private static RequestKeys keys(HttpRequest request, String peer) {
        return new RequestKeys(request, null, peer, false, TrustedProxies.NONE, new RequestLog(0, 0));
    }

    /** Records the outcome, and on which thread it came. */
    private final class Outcome implements AccessCheck.Resume {
        final CompletableFuture<String> result = new CompletableFuture<>();

        @Override
        public EventLoop loop() {
            return loop;
        }

        @Override
        public void accessAllowed(ReplyFields responseFields) {
            result.complete("allowed on loop: " + loop.inEventLoop());
        }

        @Override
        public void refused(FailureKind kind, ReplyFields fields) {
            result.complete(kind.label() + " on loop: " + loop.inEventLoop() + " " + fields);
        }
    }

    /** One route across a test: what its basic auth remembers lives with it. */
    private final Route staff = route(STAFF);

    private AccessCheck.Decision check(Route route, HttpRequest request, Outcome outcome) {
        return AccessCheck.check(route, request, keys(request, "192.0.2.1"), new PasswordChecks(held::add), outcome);
    }

    /** Runs what the checking threads hold, here, then waits for the loop to have run what they handed it. */
    private void runChecksAndDrainTheLoop() throws Exception {
        while (!held.isEmpty()) {
            held.poll().run();
        }
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
    }

    @Test
    void anOpenRouteIsAllowedWithNothingAdded() {
        var decision = check(route(AccessConfig.OPEN), request(), new Outcome());
        assertThat(decision).isEqualTo(new AccessCheck.Decision.Allowed(ReplyFields.NONE));
    }

    @Test
    void anAddressOutsideTheListIsRefusedAtOnce() {
        var access = new AccessConfig(List.of("10.0.0.0/8"), List.of(), Optional.empty(), Optional.empty());
        assertThat(check(route(access), request(), new Outcome()))
                .isEqualTo(new AccessCheck.Decision.Refused(FailureKind.ACCESS_DENIED, ReplyFields.NONE));
    }

    @Test
    void newCredentialsArePendingThenAllowedOnTheRequestsLoop() throws Exception {
        Outcome outcome = new Outcome();
        var decision = check(staff, request("authorization", basic("alice", "wonderland")), outcome);
        assertThat(decision).isInstanceOf(AccessCheck.Decision.Pending.class);
        assertThat(outcome.result).isNotDone();
        runChecksAndDrainTheLoop();
        assertThat(outcome.result.getNow(null)).isEqualTo("allowed on loop: true");
        // Remembered: the same credentials are allowed at once now.
        assertThat(check(staff, request("authorization", basic("alice", "wonderland")), new Outcome()))
                .isInstanceOf(AccessCheck.Decision.Allowed.class);
    }

    @Test
    void aWrongPasswordIsRefusedOnTheLoopWithTheChallenge() throws Exception {
        Outcome outcome = new Outcome();
        check(staff, request("authorization", basic("alice", "nope")), outcome);
        runChecksAndDrainTheLoop();
        assertThat(outcome.result.getNow(null))
                .isEqualTo("unauthenticated on loop: true www-authenticate: Basic realm=\"Staff\", charset=\"UTF-8\"");
    }

    @Test
    void aRequestWhoseClientLeftGetsNoAnswer() throws Exception {
        Outcome outcome = new Outcome();
        var pending = (AccessCheck.Decision.Pending) check(staff, request("authorization", basic("alice", "wonderland")),
                outcome);
        pending.withdrawal().withdraw();
        runChecksAndDrainTheLoop();
        assertThat(outcome.result).isNotDone();
    }

    @Test
    void whenTooManyChecksWaitNewCredentialsAreShedAsOverloaded() {
        PasswordChecks full = new PasswordChecks(held::add);
        for (int i = 0; i < 64; i++) {
            full.offer(() -> { });
        }
        HttpRequest request = request("authorization", basic("alice", "one-more"));
        assertThat(AccessCheck.check(staff, request, keys(request, "192.0.2.1"), full, new Outcome()))
                .isEqualTo(new AccessCheck.Decision.Refused(FailureKind.OVERLOADED, ReplyFields.NONE));
    }

    @Test
    void aPreflightFromAnAllowedOriginIsAnsweredWithoutCredentials() {
        var access = new AccessConfig(List.of(), List.of(), STAFF.basicAuth(), Optional.of(new CorsConfig(
                List.of("https://app.example.com"), false, List.of("GET"), List.of(), false, List.of(), true,
                Duration.ofMinutes(1))));
        HttpRequest preflight = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "/x");
        preflight.headers().set("origin", "https://app.example.com").set("access-control-request-method", "GET");
        var decision = AccessCheck.check(route(access), preflight, keys(preflight, "192.0.2.1"), PasswordChecks.NONE,
                new Outcome());
        assertThat(decision).isInstanceOfSatisfying(AccessCheck.Decision.Answered.class, answered -> {
            assertThat(answered.answer().head().status().code()).isEqualTo(204);
            assertThat(answered.answer().head().headers().get("access-control-allow-origin"))
                    .isEqualTo("https://app.example.com");
        });
        HttpRequest actual = request("origin", "https://app.example.com");
        var refused = AccessCheck.check(route(access), actual, keys(actual, "192.0.2.1"), PasswordChecks.NONE,
                new Outcome());
        assertThat(refused).isInstanceOfSatisfying(AccessCheck.Decision.Refused.class, r -> {
            assertThat(r.kind()).isEqualTo(FailureKind.UNAUTHENTICATED);
            assertThat(r.fields().get(AsciiString.of("access-control-allow-origin"))).isEqualTo("https://app.example.com");
        });
    }
}
