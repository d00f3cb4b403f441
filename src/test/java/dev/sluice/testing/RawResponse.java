package dev.sluice.testing;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * One HTTP/1.x response exactly as {@link RawHttpClient} read it off the wire. Immutable.
 *
 * <pre>{@code
 * RawResponse r = client.readResponse(Duration.ofSeconds(5));
 * assertThat(r.status()).isEqualTo(400);
 * }</pre>
 */
public final class RawResponse {
    /** How the body's end was determined (RFC 9112 §6.3). */
    public enum Framing { NO_BODY, CONTENT_LENGTH, CHUNKED, CLOSE_DELIMITED }

    private final String version;
    private final int status;
    private final String reason;
    private final List<Map.Entry<String, String>> headers;
    private final byte[] body;
    private final List<Map.Entry<String, String>> trailers;
    private final Framing framing;
    private final byte[] raw;
    private final List<RawResponse> interim;

    RawResponse(String version, int status, String reason, List<Map.Entry<String, String>> headers, byte[] body,
                List<Map.Entry<String, String>> trailers, Framing framing, byte[] raw, List<RawResponse> interim) {
        this.version = version;
        this.status = status;
        this.reason = reason;
        this.headers = List.copyOf(headers);
        this.body = body;
        this.trailers = List.copyOf(trailers);
        this.framing = framing;
        this.raw = raw;
        this.interim = List.copyOf(interim);
    }

    RawResponse withInterim(List<RawResponse> interimResponses) {
        return new RawResponse(version, status, reason, headers, body, trailers, framing, raw, interimResponses);
    }

    /** {@code HTTP/1.1} or {@code HTTP/1.0}. */
    public String version() {
        return version;
    }

    public int status() {
        return status;
    }

    public String reason() {
        return reason;
    }

    /** Header fields in order, duplicates kept. */
    public List<Map.Entry<String, String>> headers() {
        return headers;
    }

    /** First value of the named header (case-insensitive), or null. */
    public String header(String name) {
        return RecordedRequest.first(headers, name);
    }

    public List<String> headerValues(String name) {
        return RecordedRequest.all(headers, name);
    }

    /** The body, de-chunked. */
    public byte[] body() {
        return body.clone();
    }

    public String bodyString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    public List<Map.Entry<String, String>> trailers() {
        return trailers;
    }

    public String trailer(String name) {
        return RecordedRequest.first(trailers, name);
    }

    public Framing framing() {
        return framing;
    }

    /** The response's bytes exactly as received, from the status line to the end of the body. */
    public byte[] raw() {
        return raw.clone();
    }

    public String rawString() {
        return new String(raw, StandardCharsets.ISO_8859_1);
    }

    /** 1xx responses that came before this one (filled by {@link RawHttpClient#readFinalResponse}). */
    public List<RawResponse> interim() {
        return interim;
    }

    /** True if the server announced it will close the connection after this response. */
    public boolean connectionClose() {
        if (framing == Framing.CLOSE_DELIMITED) {
            return true;
        }
        String connection = header("connection");
        if (connection != null) {
            for (String token : connection.split(",")) {
                if (token.trim().equalsIgnoreCase("close")) {
                    return true;
                }
            }
        }
        return version.equals("HTTP/1.0") && (connection == null || !connection.toLowerCase().contains("keep-alive"));
    }

    @Override
    public String toString() {
        return version + " " + status + " " + reason + " (" + framing + ", " + body.length + " body bytes)";
    }
}
