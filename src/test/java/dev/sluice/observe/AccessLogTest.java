package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.failure.FailureKind;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class AccessLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void lineIsOneValidJsonObjectWithEveryField() throws Exception {
        RequestLog e = new RequestLog(Instant.parse("2026-11-23T11:48:20.007Z").toEpochMilli(), 1_000);
        e.received("abc", null, "POST", "/a?q=\"quoted\"\n\u0001", "HTTP/1.1", null);
        e.routed("api", "api", 1_500);
        e.attemptStarted("10.0.0.1:80", true, 1200, 5000);
        e.attemptEnded(FailureKind.RESET_BEFORE_RESPONSE,
                "not retried: the request may have been processed and POST is not idempotent");
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
        assertThat(line.get("host").isNull()).isTrue();
    }

    @Test
    void timestampsMatchInstantFormattingAcrossSecondsAndMinutes() {
        for (String t : new String[] {"2026-11-23T11:48:00Z", "2026-11-23T11:48:59.999Z", "1999-12-31T23:59:59.050Z"}) {
            StringBuilder b = new StringBuilder();
            AccessLog.appendTime(b, Instant.parse(t).toEpochMilli());
            assertThat(Instant.parse(b.toString())).isEqualTo(Instant.parse(t));
            assertThat(b.toString()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        }
    }
}
