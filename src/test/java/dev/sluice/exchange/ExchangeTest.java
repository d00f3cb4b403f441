package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The exchange's steps up to the point where it would need a socket: route, admit, pick. What
 * follows (acquire, send, respond, retry) is covered end to end on real sockets.
 */
class ExchangeTest {
    private static final long NOW = 1_000_000L;
    /** The endpoint is health-checked and never checked here, so nothing can be picked. */
    private static Snapshot snapshot;

    @BeforeAll
    static void parse() throws Exception {
        snapshot = Snapshot.build(ConfigLoader.parse("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: /api/ }
                    cluster: api
                clusters:
                  - name: api
                    endpoints: [127.0.0.1:9]
                    health_check: { path: /healthz }
                """, "<test>"), null, () -> 0);
    }

    /** What the exchange asked of its client side. */
    private static final class RecordingDownstream implements Downstream {
        final List<String> calls = new ArrayList<>();

        @Override
        public void respond(HttpResponse head) {
            calls.add("respond " + head.status().code());
        }

        @Override
        public void interim(HttpResponse interim) {
            calls.add("interim");
        }

        @Override
        public void respond(HttpContent part) {
            calls.add("part");
            part.release();
        }

        @Override
        public void responseComplete() {
            calls.add("complete");
        }

        @Override
        public void reply(FailureKind kind, ReplyFields fields, boolean close) {
            calls.add("reply " + kind.label() + (close ? " close" : "") + (fields.size() == 0 ? "" : " " + fields));
        }

        @Override
        public void abort(FailureKind kind) {
            calls.add("abort " + kind.label());
        }

        @Override
        public void tunnel(HttpResponse switching, io.netty.channel.Channel upstream) {
            calls.add("tunnel " + switching.status().code());
        }

        @Override
        public void bodyWanted() {
            calls.add("bodyWanted");
        }

        @Override
        public boolean flush() {
            return true;
        }

        @Override
        public void responseDeadline(long atNanos) {
            calls.add("deadline");
        }

        @Override
        public void responseDeadlineMet() {}
    }

    /** Admits or refuses as told, and counts what it is asked and given back. */
    private static final class CountingAdmission implements Admission {
        final FailureKind refuse;
        int asked;
        final List<Boolean> released = new ArrayList<>();

        CountingAdmission(FailureKind refuse) {
            this.refuse = refuse;
        }

        @Override
        public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
            asked++;
            return refuse != null ? new Decision.Refused(refuse)
                    : new Decision.Admitted((admittedNanos, now, failed) -> released.add(failed));
        }
    }

    private final RecordingDownstream downstream = new RecordingDownstream();

    private Exchange exchange(String path, Admission admission, RequestLog log) {
        ExchangeContext context = new ExchangeContext(null, null, null, () -> NOW, () -> snapshot, admission);
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path);
        request.headers().set("host", "example.com").set("content-length", "3");
        log.received("id-1", "192.0.2.1", "POST", path, "HTTP/1.1", "example.com");
        return new Exchange(context, downstream, log, request, null, "192.0.2.1", false, TrustedProxies.NONE, false, -1);
    }

    @Test
    void aRequestNoRouteMatchesIsAnsweredNoRouteAndNeverReachesAdmission() {
        CountingAdmission admission = new CountingAdmission(null);
        RequestLog log = new RequestLog(0, 0);
        exchange("/elsewhere", admission, log).start(NOW);
        assertThat(downstream.calls).containsExactly("reply no_route");
        assertThat(admission.asked).isZero();
        assertThat(log.route()).isNull();
    }

    @Test
    void aRequestAdmissionRefusesGetsTheRefusalsKindAndNoEndpointIsPicked() {
        CountingAdmission admission = new CountingAdmission(FailureKind.OVERLOADED);
        RequestLog log = new RequestLog(0, 0);
        exchange("/api/lease", admission, log).start(NOW);
        assertThat(downstream.calls).containsExactly("reply overloaded");
        assertThat(log.route()).isEqualTo("api");
        assertThat(log.routedNanos()).isEqualTo(NOW);
        assertThat(log.admittedNanos()).as("never admitted").isZero();
        assertThat(log.endpoint()).isNull();
        assertThat(admission.released).as("no ticket was handed out").isEmpty();
    }

    @Test
    void theFieldsOfTheRefusingPolicyGoToTheClientWithTheRefusal() {
        ReplyFields fields = ReplyFields.NONE.with(io.netty.util.AsciiString.of("retry-after"), "3");
        Admission refusing = (route, cluster, request, resume) -> new Admission.Decision.Refused(
                FailureKind.RATE_LIMITED, fields);
        exchange("/api/lease", refusing, new RequestLog(0, 0)).start(NOW);
        assertThat(downstream.calls).containsExactly("reply rate_limited retry-after: 3");
    }

    @Test
    void anAdmittedRequestWithNothingToPickGivesItsTicketBackOnceAsAFailure() {
        CountingAdmission admission = new CountingAdmission(null);
        RequestLog log = new RequestLog(0, 0);
        Exchange exchange = exchange("/api/lease", admission, log);
        exchange.start(NOW);
        assertThat(downstream.calls).containsExactly("reply no_healthy_endpoint");
        assertThat(log.admittedNanos()).isEqualTo(NOW);
        exchange.cancel();
        assertThat(admission.released).containsExactly(true);
    }

    @Test
    void bodyThatArrivesAfterTheExchangeEndedIsReleased() {
        Exchange exchange = exchange("/elsewhere", Admission.ALL, new RequestLog(0, 0));
        exchange.start(NOW);
        HttpContent late = new DefaultHttpContent(Unpooled.copiedBuffer(new byte[] {1, 2, 3}));
        exchange.requestContent(late, false);
        assertThat(late.refCnt()).isZero();
    }

    @Test
    void bodyHeldBeforeAnEndpointIsPickedIsReleasedWhenTheExchangeEnds() {
        CountingAdmission admission = new CountingAdmission(FailureKind.OVERLOADED);
        Exchange exchange = exchange("/api/lease", admission, new RequestLog(0, 0));
        HttpContent early = new DefaultHttpContent(Unpooled.copiedBuffer(new byte[] {1, 2, 3}));
        exchange.requestContent(early, false);
        exchange.start(NOW);
        assertThat(early.refCnt()).isZero();
    }
}
