package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * W3C trace context on real sockets: a valid {@code traceparent} reaches the backend as it came
 * (with its {@code tracestate}), a missing, repeated or invalid one is replaced by one Sluice
 * starts (and {@code tracestate} dropped), and the access log's {@code trace_id} is the trace the
 * backend saw, beside the request id.
 */
class TraceContextTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /** A traceparent Sluice started: version 00, random non-zero ids in lower-case hex, sampled. */
    private static void assertStartedBySluice(String traceparent) {
        assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01")
                .doesNotMatch("00-0{32}-.*").doesNotMatch(".*-0{16}-01");
    }

    private static String traceIdOf(String traceparent) {
        return traceparent.substring(3, 35);
    }

    private record Seen(RecordedRequest request, JsonNode line) {}

    /** Sends each head on one connection; what the backend received and the access log said, in order. */
    private static List<Seen> send(String... heads) throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.proxyTo(backend.address());
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            for (String head : heads) {
                assertThat(client.send(head).readResponse(T).status()).isEqualTo(200);
            }
            Await.until(T, () -> gw.accessLogLines().size() == heads.length, heads.length + " log lines");
            List<RecordedRequest> requests = backend.awaitRequests(heads.length, T);
            List<String> lines = gw.accessLogLines();
            return java.util.stream.IntStream.range(0, heads.length)
                    .mapToObj(i -> new Seen(requests.get(i), json(lines.get(i)))).toList();
        }
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }

    @Test
    void aRequestWithoutTraceparentGetsANewTraceTheBackendSeesAndTheLogNames() throws Exception {
        // The first forwarded from its bytes, the second through its header map (it names a request id).
        List<Seen> seen = send("GET /a HTTP/1.1\r\nHost: app\r\n\r\n",
                "GET /b HTTP/1.1\r\nHost: app\r\nX-Request-Id: abc-1\r\n\r\n");

        for (Seen s : seen) {
            assertThat(s.request().headerValues("traceparent")).hasSize(1);
            String traceparent = s.request().header("traceparent");
            assertStartedBySluice(traceparent);
            assertThat(s.line().path("trace_id").asText()).isEqualTo(traceIdOf(traceparent));
            assertThat(s.line().path("request_id").asText()).isEqualTo(s.request().header("x-request-id"));
        }
        assertThat(seen.get(1).line().path("request_id").asText()).isEqualTo("abc-1");
        assertThat(traceIdOf(seen.get(0).request().header("traceparent")))
                .as("each request its own trace").isNotEqualTo(traceIdOf(seen.get(1).request().header("traceparent")));
    }

    @Test
    void aValidTraceparentGoesOnAsItCameWithItsTracestate() throws Exception {
        List<Seen> seen = send(
                "GET /a HTTP/1.1\r\nHost: app\r\ntraceparent: " + VALID + "\r\ntracestate: congo=t61rcWkgMzE\r\n\r\n",
                "GET /b HTTP/1.1\r\nHost: app\r\nTraceparent: " + VALID + "\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");

        for (Seen s : seen) {
            assertThat(s.request().headerValues("traceparent")).containsExactly(VALID);
            assertThat(s.line().path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        }
        assertThat(seen.get(0).request().header("tracestate")).isEqualTo("congo=t61rcWkgMzE");
    }

    @Test
    void anInvalidOrRepeatedTraceparentIsReplacedAndItsTracestateDropped() throws Exception {
        List<String> invalid = List.of(
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // upper-case hex
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace-id
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero parent-id
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // version 00 is 55 characters
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"); // no flags
        String[] heads = new String[invalid.size() + 1];
        for (int i = 0; i < invalid.size(); i++) {
            heads[i] = "GET /" + i + " HTTP/1.1\r\nHost: app\r\ntraceparent: " + invalid.get(i)
                    + "\r\ntracestate: congo=t61rcWkgMzE\r\n\r\n";
        }
        heads[invalid.size()] = "GET /twice HTTP/1.1\r\nHost: app\r\ntraceparent: " + VALID + "\r\ntraceparent: "
                + VALID.replace("-01", "-00") + "\r\n\r\n";

        for (Seen s : send(heads)) {
            assertThat(s.request().headerValues("traceparent")).as(s.request().uri()).hasSize(1);
            String traceparent = s.request().header("traceparent");
            assertStartedBySluice(traceparent);
            assertThat(traceIdOf(traceparent)).isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
            assertThat(s.request().headerValues("tracestate")).as("the old trace's state").isEmpty();
            assertThat(s.line().path("trace_id").asText()).isEqualTo(traceIdOf(traceparent));
        }
    }

    @Test
    void aLaterVersionIsKeptAsItCame() throws Exception {
        String future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-comes-next";

        Seen s = send("GET / HTTP/1.1\r\nHost: app\r\ntraceparent: " + future + "\r\n\r\n").get(0);

        assertThat(s.request().header("traceparent")).isEqualTo(future);
        assertThat(s.line().path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    }

    @Test
    void aRequestSluiceAnswersItselfIsLoggedWithATraceIdToo() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.proxyTo(backend.address());
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            assertThat(client.send("GET / HTTP/1.1\r\nHost: app\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .readResponse(T).status()).isEqualTo(400);
            Await.until(T, () -> gw.accessLogLines().size() == 1, "one log line");

            assertThat(json(gw.accessLogLines().get(0)).path("trace_id").asText()).matches("[0-9a-f]{32}");
        }
    }
}
