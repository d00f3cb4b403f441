package dev.sluice.record;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.RecordConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
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

    private String encode(RecordedExchange e) {
        encoder.encode(e, RecordConfig.DEFAULT_REDACT);
        String line = new String(encoder.bytes(), 0, encoder.size(), StandardCharsets.UTF_8);
        assertThat(line).endsWith("}\n").hasLineCount(1);
        return line;
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

    @Test
    void everyCharacterComesBackAsItWasSentWhateverNeedsEscaping() throws IOException {
        // Field values: every byte but CR and LF (one char each, ISO-8859-1), quotes, backslashes and controls included.
        StringBuilder value = new StringBuilder("x");
        for (int b = 0; b < 256; b++) {
            if (b != '\r' && b != '\n') {
                value.append((char) b);
            }
        }
        value.append('x');
        byte[] text = "line one\n\t\"quoted\" \\ back\u0001\u001f caf\u00e9 \u20ac \ud83d\ude00"
                .getBytes(StandardCharsets.UTF_8);
        RecordedExchange e = new RecordedExchange("r\u00e9gion \"eu\"", 1_796_442_067_123L, 1_000, "POST", true,
                "h\u00f4te", "/a?q=%E2%82%AC&say=%22hi%22&empty", "HTTP/1.1",
                lines("X-All: " + value + "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"),
                text, text.length, text.length, 503, "Service \"Unavailable\"", new byte[0], -1, null, 0, null, false,
                0, 0, 0, "no_healthy_endpoint");
        JsonNode entry = JSON.readTree(encode(e));

        assertThat(headers(entry.get("request").get("headers"))).containsExactly("X-All=" + value,
                "Content-Type=text/plain; charset=\"utf-8\"");
        assertThat(entry.get("request").get("postData").get("text").asText())
                .isEqualTo(new String(text, StandardCharsets.UTF_8));
        assertThat(entry.get("request").get("postData").has("encoding")).isFalse();
        assertThat(entry.get("request").get("url").asText()).isEqualTo("https://h\u00f4te/a?q=%E2%82%AC&say=%22hi%22&empty");
        assertThat(entry.get("request").get("queryString").toString())
                .isEqualTo("[{\"name\":\"q\",\"value\":\"\u20ac\"},{\"name\":\"say\",\"value\":\"\\\"hi\\\"\"},"
                        + "{\"name\":\"empty\",\"value\":\"\"}]");
        assertThat(entry.get("_route").asText()).isEqualTo("r\u00e9gion \"eu\"");
        assertThat(entry.get("response").get("statusText").asText()).isEqualTo("Service \"Unavailable\"");
        assertThat(entry.get("_failure").asText()).isEqualTo("no_healthy_endpoint");
        assertThat(entry.get("startedDateTime").asText()).isEqualTo("2026-12-05T03:41:07.123Z");
    }

    @Test
    void aBodyThatIsNotUtf8IsWrittenAsBase64AndTheNextEntryStartsClean() throws IOException {
        byte[] binary = {(byte) 0xff, 0, (byte) 0xc3, '"', '\\', (byte) 0x80, 'a'};
        RecordedExchange e = new RecordedExchange("api", 1_796_442_067_000L, 0, "PUT", false, "h", "/", "HTTP/1.1",
                lines("Content-Type: application/octet-stream\r\n"), binary, binary.length, 10_000, 200, "OK",
                lines(""), 0, new byte[0], 0, null, false, 0, 0, 0, null);
        JsonNode entry = JSON.readTree(encode(e));
        JsonNode postData = entry.get("request").get("postData");
        assertThat(postData.get("encoding").asText()).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(postData.get("text").asText())).isEqualTo(binary);
        assertThat(entry.get("request").get("bodySize").asLong()).isEqualTo(10_000);
        assertThat(entry.get("_requestBodyTruncated").asBoolean()).isTrue();

        JsonNode next = JSON.readTree(encode(exchange(lines("Host: h\r\n"), lines(""), BODY, null, BODY.length)));
        assertThat(next.get("request").has("postData")).isFalse();
        assertThat(next.get("_requestBodyTruncated").asBoolean()).isFalse();
        assertThat(headers(next.get("request").get("headers"))).containsExactly("Host=h");
    }

    @Test
    void randomFieldsAndBodiesComeBackAsTheyWereSent() throws IOException {
        Random random = new Random(20261205);
        for (int run = 0; run < 500; run++) {
            List<String> sent = new ArrayList<>();
            StringBuilder head = new StringBuilder();
            for (int f = random.nextInt(6); f > 0; f--) {
                String name = "X-F" + f;
                StringBuilder v = new StringBuilder();
                for (int i = random.nextInt(40); i > 0; i--) {
                    char c = (char) random.nextInt(256);
                    v.append(c == '\r' || c == '\n' ? 'c' : c);
                }
                String trimmed = v.toString().replaceAll("^[ \t]+|[ \t]+$", "");
                head.append(name).append(": ").append(v).append("\r\n");
                sent.add(name + "=" + trimmed);
            }
            byte[] body = new byte[random.nextInt(64)];
            random.nextBytes(body);
            if (random.nextBoolean()) {
                body = new String(body, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8); // valid UTF-8
            }
            RecordedExchange e = new RecordedExchange("api", 1_796_442_067_000L + run, run, "POST", false, "h", "/",
                    "HTTP/1.1", lines(head.toString()), body, body.length, body.length, 200, "OK", lines(head.toString()),
                    body.length, body, body.length, null, false, 0, 0, 0, null);
            JsonNode entry = JSON.readTree(encode(e));

            assertThat(headers(entry.get("request").get("headers"))).as("run %d", run).isEqualTo(sent);
            assertThat(headers(entry.get("response").get("headers"))).as("run %d", run).isEqualTo(sent);
            if (body.length > 0) {
                JsonNode postData = entry.get("request").get("postData");
                byte[] back = postData.has("encoding") ? Base64.getDecoder().decode(postData.get("text").asText())
                        : postData.get("text").asText().getBytes(StandardCharsets.UTF_8);
                assertThat(back).as("run %d", run).isEqualTo(body);
            }
        }
    }
}
