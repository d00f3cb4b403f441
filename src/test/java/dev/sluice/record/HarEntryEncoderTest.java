package dev.sluice.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.RecordConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The entry as the recorder's thread encodes it from the bytes the loop handed over (docs/recording.md). */
class HarEntryEncoderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] BODY = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);

    private final HarEntryEncoder encoder = new HarEntryEncoder();

    private static byte[] lines(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static RecordedExchange exchange(byte[] requestFields, byte[] responseFields, byte[] body, byte[] sha256,
                                             long responseSize) {
        return new RecordedExchange("api", 1_796_442_067_000L, 12_405_600, "GET", false, "shop.example",
                "/orders/7?expand=items", "HTTP/1.1", requestFields, new byte[0], 0, 0, 200, "OK", responseFields,
                responseSize, body, body == null ? 0 : body.length, sha256, false, 5_000_000, 7_000, 0, null);
    }

    private String encode(RecordedExchange e) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            encoder.write(g, e, RecordConfig.DEFAULT_REDACT);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<String> headers(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(h -> out.add(h.get("name").asText() + "=" + h.get("value").asText()));
        return out;
    }

    @Test
    void fieldsAreWrittenAsTheyCameLessTheRedactedOnesInAnyCase() throws IOException {
        String text = encode(exchange(
                lines("Host: shop.example\r\nAUTHORIZATION: Bearer s3cr3t\r\nX-Quote:  say \"hi\" \\ to\ttabs \r\n"
                        + "X-Latin: caf\u00e9\r\ncookie: session=abc123secret\r\n"),
                lines("Content-Type: application/json\r\nSet-Cookie: id=xyz789secret\r\n"), BODY, null, BODY.length));
        JsonNode entry = JSON.readTree(text);

        assertThat(headers(entry.get("request").get("headers")))
                .containsExactly("Host=shop.example", "X-Quote=say \"hi\" \\ to\ttabs", "X-Latin=caf\u00e9");
        assertThat(headers(entry.get("response").get("headers"))).containsExactly("Content-Type=application/json");
        assertThat(entry.get("_redacted").toString()).isEqualTo("[\"authorization\",\"cookie\",\"set-cookie\"]");
        assertThat(text).doesNotContain("s3cr3t").doesNotContain("abc123secret").doesNotContain("xyz789secret");
        assertThat(entry.get("response").get("content").get("mimeType").asText()).isEqualTo("application/json");
        assertThat(entry.get("request").get("url").asText()).isEqualTo("http://shop.example/orders/7?expand=items");
        assertThat(entry.get("request").get("queryString").toString()).isEqualTo("[{\"name\":\"expand\",\"value\":\"items\"}]");
    }

    @Test
    void aKeptBodyIsHashedHereAndAHashedOneIsWrittenAsItCame() throws Exception {
        byte[] fields = lines("Host: shop.example\r\n");
        JsonNode kept = JSON.readTree(encode(exchange(fields, fields, BODY, null, BODY.length)));
        assertThat(kept.get("_responseBodySha256").asText())
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BODY)));
        assertThat(kept.get("_redacted").toString()).isEqualTo("[]");

        byte[] digest = new byte[32];
        digest[0] = (byte) 0xab;
        JsonNode hashed = JSON.readTree(encode(exchange(fields, fields, null, digest, 100_000)));
        assertThat(hashed.get("_responseBodySha256").asText()).isEqualTo("ab" + "00".repeat(31));
        assertThat(hashed.get("response").get("bodySize").asLong()).isEqualTo(100_000);

        // Sluice answered: no backend body, no hash; the same encoder, so nothing is left over from before.
        JsonNode answered = JSON.readTree(encode(exchange(fields, new byte[0], null, null, -1)));
        assertThat(answered.has("_responseBodySha256")).isFalse();
        assertThat(answered.get("response").get("content").get("size").asLong()).isZero();
        assertThat(answered.get("response").get("headers").size()).isZero();
    }

    @Test
    void timesAreMillisecondsToTheMicrosecondAndTheStartIsUtcToTheMillisecond() throws IOException {
        JsonNode entry = JSON.readTree(encode(exchange(lines("Host: h\r\n"), lines(""), BODY, null, BODY.length)));
        assertThat(entry.get("startedDateTime").asText()).isEqualTo("2026-12-05T03:41:07.000Z");
        assertThat(entry.get("time").toString()).isEqualTo("12.406");
        assertThat(entry.get("timings").toString()).isEqualTo("{\"send\":5.0,\"wait\":0.007,\"receive\":0.0}");
    }
}
