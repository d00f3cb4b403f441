package dev.sluice.record;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Writer;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The recording format (docs/recording.md): JSON Lines, each line one HAR 1.2 {@code entry}
 * with Sluice's own fields ({@code _route}, {@code _responseBodySha256}, ...), and the export that
 * wraps lines into a HAR 1.2 document ({@code bin/sluice record export}). The {@code replay}
 * command reads the same lines: a change here is a change of that contract.
 */
public final class HarLines {
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private HarLines() {
    }

    /** {@code entry} as one line of JSON, its newline included. */
    public static byte[] line(RecordedExchange entry) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512 + entry.requestBody().length * 4 / 3);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(g, entry);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }

    private static void write(JsonGenerator g, RecordedExchange e) throws IOException {
        g.writeStartObject();
        g.writeStringField("startedDateTime", Instant.ofEpochMilli(e.startedEpochMillis()).toString());
        g.writeNumberField("time", round(e.timeMillis()));
        g.writeObjectFieldStart("request");
        g.writeStringField("method", e.method());
        g.writeStringField("url", e.url());
        g.writeStringField("httpVersion", e.httpVersion());
        headers(g, e.requestHeaders());
        g.writeArrayFieldStart("queryString");
        for (Map.Entry<String, String> q : query(e.url())) {
            nameValue(g, q.getKey(), q.getValue());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("cookies");
        g.writeEndArray();
        g.writeNumberField("headersSize", -1);
        g.writeNumberField("bodySize", e.requestBodySize());
        if (e.requestBodySize() > 0) {
            g.writeObjectFieldStart("postData");
            g.writeStringField("mimeType", field(e.requestHeaders(), "content-type", ""));
            String text = utf8(e.requestBody());
            if (text != null) {
                g.writeStringField("text", text);
            } else {
                g.writeStringField("text", Base64.getEncoder().encodeToString(e.requestBody()));
                g.writeStringField("encoding", "base64");
            }
            g.writeEndObject();
        }
        g.writeEndObject();

        g.writeObjectFieldStart("response");
        g.writeNumberField("status", e.status());
        g.writeStringField("statusText", e.statusText());
        g.writeStringField("httpVersion", "HTTP/1.1");
        headers(g, e.responseHeaders());
        g.writeArrayFieldStart("cookies");
        g.writeEndArray();
        g.writeObjectFieldStart("content");
        g.writeNumberField("size", Math.max(e.responseBodySize(), 0));
        g.writeStringField("mimeType", field(e.responseHeaders(), "content-type", ""));
        g.writeEndObject();
        g.writeStringField("redirectURL", "");
        g.writeNumberField("headersSize", -1);
        g.writeNumberField("bodySize", e.responseBodySize());
        g.writeEndObject();

        g.writeObjectFieldStart("cache");
        g.writeEndObject();
        g.writeObjectFieldStart("timings");
        g.writeNumberField("send", round(e.sendMillis()));
        g.writeNumberField("wait", round(e.waitMillis()));
        g.writeNumberField("receive", round(e.receiveMillis()));
        g.writeEndObject();

        g.writeStringField("_route", e.route());
        if (e.responseBodySha256() != null) {
            g.writeStringField("_responseBodySha256", e.responseBodySha256());
        }
        g.writeBooleanField("_requestBodyTruncated", e.requestBodyTruncated());
        g.writeBooleanField("_responseBodyTruncated", e.responseBodyTruncated());
        g.writeArrayFieldStart("_redacted");
        for (String name : e.redacted()) {
            g.writeString(name);
        }
        g.writeEndArray();
        if (e.failure() != null) {
            g.writeStringField("_failure", e.failure());
        }
        g.writeEndObject();
    }

    /** Milliseconds to the microsecond: HAR's times are decimals, and more digits are noise. */
    private static double round(double millis) {
        return Math.round(Math.max(millis, 0) * 1000) / 1000.0;
    }

    private static void headers(JsonGenerator g, List<Map.Entry<String, String>> headers) throws IOException {
        g.writeArrayFieldStart("headers");
        for (Map.Entry<String, String> h : headers) {
            nameValue(g, h.getKey(), h.getValue());
        }
        g.writeEndArray();
    }

    private static void nameValue(JsonGenerator g, String name, String value) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", name);
        g.writeStringField("value", value);
        g.writeEndObject();
    }

    private static String field(List<Map.Entry<String, String>> headers, String name, String otherwise) {
        for (Map.Entry<String, String> h : headers) {
            if (h.getKey().equalsIgnoreCase(name)) {
                return h.getValue();
            }
        }
        return otherwise;
    }

    /** The URL's query parameters, decoded as a form's (HAR's {@code queryString}); a malformed one as written. */
    static List<Map.Entry<String, String>> query(String url) {
        int q = url.indexOf('?');
        if (q < 0) {
            return List.of();
        }
        int hash = url.indexOf('#', q);
        String query = url.substring(q + 1, hash < 0 ? url.length() : hash);
        List<Map.Entry<String, String>> params = new java.util.ArrayList<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.add(Map.entry(decode(name), decode(value)));
        }
        return params;
    }

    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return text;
        }
    }

    /** The bytes as text when they are valid UTF-8; else null (they go as base64). */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * Writes the entries of {@code files} (in order, each line one entry) as one HAR 1.2 document to
     * {@code out}, streaming: one entry in memory at a time. A line that is not a JSON object (a
     * file cut by a crash mid-line) is skipped and counted in the returned number.
     */
    public static int export(List<Path> files, Writer out, String creatorVersion) throws IOException {
        int skipped = 0;
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setCodec(MAPPER);
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeObjectFieldStart("log");
            g.writeStringField("version", "1.2");
            g.writeObjectFieldStart("creator");
            g.writeStringField("name", "sluice");
            g.writeStringField("version", creatorVersion);
            g.writeEndObject();
            g.writeArrayFieldStart("entries");
            for (Path file : files) {
                try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        if (line.isBlank()) {
                            continue;
                        }
                        JsonNode entry;
                        try {
                            entry = MAPPER.readTree(line);
                        } catch (IOException notJson) {
                            skipped++;
                            continue;
                        }
                        if (entry instanceof ObjectNode) {
                            g.writeTree(entry);
                        } else {
                            skipped++;
                        }
                    }
                }
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        return skipped;
    }

    /** The {@code Host} and target as an absolute URL: {@code target} itself when it is one already. */
    public static String absoluteUrl(boolean secure, String host, String target) {
        if (target.startsWith("http://") || target.startsWith("https://")) {
            return target;
        }
        String authority = host == null || host.isEmpty() ? "localhost" : host;
        return (secure ? "https://" : "http://") + authority + (target.startsWith("/") ? target : "/" + target);
    }
}
