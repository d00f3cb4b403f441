package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.failure.FailureKind;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What one access-log line says, byte for byte as a JSON parser reads it. */
class AccessLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void lineIsOneValidJsonObjectWithEveryField() throws Exception {
        RequestLog e = new RequestLog(Instant.parse("2026-11-23T11:48:20.007Z").toEpochMilli(), 1_000);
        e.received("abc", null, "POST", "/a?q=\"quoted\"\n\u0001", "HTTP/1.1", null);
        e.routed("api", "api", 1_500);
        e.attemptStarted("10.0.0.1:80", true, 1200, 5000);
        e.attemptEnded(FailureKind.RESET_BEFORE_RESPONSE,
                "not retried: the request may have been processed and POST is not idempotent", "stopped_not_idempotent");
        e.failed(FailureKind.RESET_BEFORE_RESPONSE);
        e.responded(502);
        e.completed(2_501_000);
        JsonNode line = JSON.readTree(AccessLog.format(e));
        assertThat(line.get("time").asText()).isEqualTo("2026-11-23T11:48:20.007Z");
        assertThat(line.get("path").asText()).isEqualTo("/a?q=\"quoted\"\n\u0001");
        assertThat(line.get("failure").asText()).isEqualTo("reset_before_response");
        assertThat(line.get("upstream_status").isNull()).isTrue();
        assertThat(line.get("duration_ms").asDouble()).isEqualTo(2.5);
        assertThat(line.get("tries").get(0).get("decision").asText()).startsWith("not retried");
        assertThat(line.get("tries").get(0).get("reused").asBoolean()).isTrue();
        assertThat(line.get("host").isNull()).isTrue();
        assertThat(line.get("attempts").asInt()).isEqualTo(1);
    }

    @Test
    void aSuccessfulRequestLogsItsUpstreamStatusTimingsAndBytes() throws Exception {
        RequestLog e = new RequestLog(0, 1_000_000);
        e.received("id", "203.0.113.7", "GET", "/", "HTTP/1.1", "example.com");
        e.routed("web", "web", 1_100_000);
        e.attemptStarted("10.0.0.2:8080", false, -1, -1);
        e.connected(250_000);
        e.sent(1_200_000);
        e.firstByte(2_000_000, 204);
        e.responded(204);
        e.bodyIn(12);
        e.bodyOut(3_456_789_012L);
        e.completed(1_001_234_567);
        JsonNode line = JSON.readTree(AccessLog.format(e));
        assertThat(line.get("time").asText()).isEqualTo("1970-01-01T00:00:00.000Z");
        assertThat(line.get("client").asText()).isEqualTo("203.0.113.7");
        assertThat(line.get("status").asInt()).isEqualTo(204);
        assertThat(line.get("upstream_status").asInt()).isEqualTo(204);
        assertThat(line.get("attempts").asInt()).isEqualTo(1);
        assertThat(line.has("tries")).isFalse();
        assertThat(line.get("reused").asBoolean()).isFalse();
        assertThat(line.get("idle_ms").asLong()).isEqualTo(-1);
        assertThat(line.get("duration_ms").decimalValue()).isEqualByComparingTo("1000.234");
        assertThat(line.get("connect_ms").decimalValue()).isEqualByComparingTo("0.250");
        assertThat(line.get("upstream_ms").decimalValue()).isEqualByComparingTo("1000.034");
        assertThat(line.get("bytes_in").asLong()).isEqualTo(12);
        assertThat(line.get("bytes_out").asLong()).isEqualTo(3_456_789_012L);
    }

    @Test
    void timestampsMatchInstantFormattingAcrossSecondsAndMinutes() throws Exception {
        AccessLineEncoder encoder = new AccessLineEncoder();
        for (String t : new String[] {"2026-11-23T11:48:00Z", "2026-11-23T11:48:59.999Z", "2026-11-23T11:49:00.001Z",
                "1999-12-31T23:59:59.050Z", "1969-12-31T23:59:59.999Z"}) {
            RequestLog e = new RequestLog(Instant.parse(t).toEpochMilli(), 0);
            byte[] out = new byte[encoder.maxLength(e)];
            int end = encoder.encode(e, out, 0);
            String time = JSON.readTree(new String(out, 0, end, StandardCharsets.UTF_8)).get("time").asText();
            assertThat(Instant.parse(time)).isEqualTo(Instant.parse(t));
            assertThat(time).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        }
    }

    @Test
    void controlCharactersQuotesAndNonAsciiSurviveAJsonParserAndNonAsciiIsWrittenAsUtf8() throws Exception {
        StringBuilder every = new StringBuilder();
        for (char c = 0; c < 0x100; c++) {
            every.append(c);
        }
        String path = every + "\"\\/é中€😀\u2028\uffff";
        RequestLog e = new RequestLog(0, 0);
        e.received("\"id\"", null, "GET", path, "HTTP/1.1", "hôte.example");
        String line = AccessLog.format(e);

        JsonNode parsed = JSON.readTree(line);
        assertThat(parsed.get("path").asText()).isEqualTo(path);
        assertThat(parsed.get("host").asText()).isEqualTo("hôte.example");
        assertThat(parsed.get("request_id").asText()).isEqualTo("\"id\"");
        // RFC 8259 §7: control characters escaped (named ones by name), the rest as UTF-8 bytes.
        assertThat(line).contains("\\u0000", "\\u001f", "\\u007f", "\\n", "\\r", "\\t", "\\\"", "\\\\",
                "é中€😀");
        assertThat(line.chars()).allMatch(c -> c >= 0x20 && c != 0x7f);
    }

    @Test
    void aLoneSurrogateIsWrittenAsAQuestionMarkAsJavasUtf8EncoderWritesIt() throws Exception {
        RequestLog e = new RequestLog(0, 0);
        e.received("id", null, "GET", "/a\ud800b\udc00", "HTTP/1.1", null);
        String line = AccessLog.format(e);
        assertThat(JSON.readTree(line).get("path").asText()).isEqualTo("/a?b?");
    }

    @Test
    void theBoundOfALinesLengthHoldsForTheWorstStrings() throws Exception {
        String worst = "\u0001".repeat(5_000);
        RequestLog e = new RequestLog(Long.MAX_VALUE / 2, Long.MIN_VALUE / 2);
        e.received(worst, worst, worst, worst + "?token=&key=&sig=", worst, worst);
        e.clientSent(worst, worst);
        e.clientIs(worst + "x");
        e.shadowLimited(worst);
        e.routed(worst, worst, 0);
        for (FailureKind kind : FailureKind.values()) {
            e.attemptStarted(worst, true, Long.MAX_VALUE, Long.MAX_VALUE);
            e.attemptEnded(kind, worst, "stopped_not_retryable");
        }
        e.failed(FailureKind.APP_STARTING_TIMEOUT);
        e.clientWentAway();
        e.bodyIn(Long.MAX_VALUE);
        e.bodyOut(Long.MIN_VALUE);
        e.completed(Long.MAX_VALUE / 2);
        AccessLineEncoder encoder = new AccessLineEncoder();
        byte[] exact = new byte[encoder.maxLength(e)];
        int end = encoder.encode(e, exact, 0);
        JsonNode line = JSON.readTree(new String(exact, 0, end, StandardCharsets.UTF_8));
        assertThat(line.get("path").asText()).isEqualTo(worst + "?token=REDACTED&key=REDACTED&sig=REDACTED");
        assertThat(line.get("user_agent").asText()).isEqualTo(worst);
        assertThat(line.get("peer").asText()).isEqualTo(worst);
        assertThat(line.get("tries").size()).isEqualTo(FailureKind.values().length);
        assertThat(line.get("client_aborted").asBoolean()).isTrue();
    }
}
