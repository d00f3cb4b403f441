package dev.sluice.replay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.testing.Sha256;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes recordings in the agreed format (JSON Lines of HAR 1.2 entries with Sluice's {@code _route},
 * {@code _responseBodySha256}, …) from a real backend's answers: each kind of request is sent to the
 * backend once, and its answer (status, headers, body hash, time) is written into as many entries as
 * a test needs, one a millisecond apart.
 */
final class HarLines {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Instant START = Instant.parse("2026-12-05T02:00:00Z");

    /** One kind of request: its route, method, path with query, request fields and body. */
    record Call(String route, String method, String pathAndQuery, Map<String, String> headers, String body) {
        static Call get(String route, String pathAndQuery) {
            return new Call(route, "GET", pathAndQuery, Map.of("accept", "application/json"), null);
        }
    }

    /** A call as the backend answered it, ready to be written any number of times. */
    record Answered(Call call, String host, int status, List<Map.Entry<String, String>> headers, String bodySha256,
                    long bodySize, double millis) {}

    private HarLines() {}

    static List<Answered> ask(URI backend, List<Call> calls) throws IOException, InterruptedException {
        List<Answered> answers = new ArrayList<>();
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            for (Call call : calls) {
                HttpRequest.Builder request = HttpRequest.newBuilder(backend.resolve(call.pathAndQuery()))
                        .method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(call.body()));
                // The client writes these for its own connection (and refuses them); the recording keeps them.
                call.headers().forEach((name, value) -> {
                    if (!List.of("connection", "keep-alive", "host", "content-length").contains(name)) {
                        request.header(name, value);
                    }
                });
                long began = System.nanoTime();
                HttpResponse<Sha256.Digest> response = client.send(request.build(), Sha256.bodyHandler());
                double millis = (System.nanoTime() - began) / 1e6;
                List<Map.Entry<String, String>> headers = new ArrayList<>();
                response.headers().map().forEach((name, values) -> values.forEach(v -> headers.add(Map.entry(name, v))));
                answers.add(new Answered(call, backend.getAuthority(), response.statusCode(), headers,
                        response.body().hex(), response.body().length(), millis));
            }
        }
        return answers;
    }

    /** One HAR entry for {@code answered}, started {@code offsetMillis} after {@link #START}. */
    static ObjectNode entry(Answered answered, long offsetMillis) {
        Call call = answered.call();
        ObjectNode entry = JSON.createObjectNode();
        entry.put("startedDateTime", START.plusMillis(offsetMillis).toString());
        entry.put("time", answered.millis());
        ObjectNode request = entry.putObject("request");
        request.put("method", call.method());
        request.put("url", "http://" + answered.host() + call.pathAndQuery());
        request.put("httpVersion", "HTTP/1.1");
        ArrayNode headers = request.putArray("headers");
        headers.addObject().put("name", "Host").put("value", answered.host());
        call.headers().forEach((name, value) -> headers.addObject().put("name", name).put("value", value));
        request.putArray("queryString");
        request.putArray("cookies");
        request.put("headersSize", -1);
        request.put("bodySize", call.body() == null ? 0 : call.body().getBytes(StandardCharsets.UTF_8).length);
        if (call.body() != null) {
            request.putObject("postData").put("mimeType", "application/json").put("text", call.body());
        }
        ObjectNode response = entry.putObject("response");
        response.put("status", answered.status());
        response.put("statusText", "");
        response.put("httpVersion", "HTTP/1.1");
        ArrayNode responseHeaders = response.putArray("headers");
        answered.headers().forEach(h -> responseHeaders.addObject().put("name", h.getKey()).put("value", h.getValue()));
        response.putArray("cookies");
        response.putObject("content").put("size", answered.bodySize()).put("mimeType", "text/plain");
        response.put("redirectURL", "");
        response.put("headersSize", -1);
        response.put("bodySize", answered.bodySize());
        entry.putObject("cache");
        entry.putObject("timings").put("send", 0).put("wait", answered.millis()).put("receive", 0);
        entry.put("_route", call.route());
        entry.put("_responseBodySha256", answered.bodySha256());
        entry.put("_requestBodyTruncated", false);
        entry.put("_responseBodyTruncated", false);
        entry.putArray("_redacted").add("authorization").add("cookie").add("set-cookie");
        return entry;
    }

    /** {@code count} entries cycling through the answers, one a millisecond from {@code firstOffset}, every {@code step} ms. */
    static Path write(Path file, List<Answered> answers, int count, long firstOffset, long step) throws IOException {
        StringBuilder lines = new StringBuilder(count * 900);
        for (int i = 0; i < count; i++) {
            lines.append(JSON.writeValueAsString(entry(answers.get(i % answers.size()), firstOffset + i * step))).append('\n');
        }
        return Files.writeString(file, lines);
    }
}
