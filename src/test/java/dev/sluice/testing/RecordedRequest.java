package dev.sluice.testing;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * One request as {@link TestBackend} received it: what the proxy actually forwarded. Immutable.
 *
 * <p>Headers and trailers keep their order and duplicates (a smuggling test needs to see two
 * {@code Content-Length}s). The body is kept byte for byte up to the backend's record limit; past it only
 * {@link #bodySha256()} and {@link #bodyLength()} are known. A request the backend's HTTP decoder rejected,
 * or whose connection closed before the body ended, is recorded too, with {@link #failure()} saying why.
 *
 * <pre>{@code
 * RecordedRequest r = backend.awaitRequests(1, Duration.ofSeconds(5)).get(0);
 * assertThat(r.header("x-forwarded-for")).isEqualTo("127.0.0.1");
 * }</pre>
 */
public final class RecordedRequest {
    private final long connectionId;
    private final int indexOnConnection;
    private final String method;
    private final String uri;
    private final String version;
    private final List<Map.Entry<String, String>> headers;
    private final byte[] body;
    private final long bodyLength;
    private final String bodySha256;
    private final List<Map.Entry<String, String>> trailers;
    private final String failure;

    RecordedRequest(long connectionId, int indexOnConnection, String method, String uri, String version,
                    List<Map.Entry<String, String>> headers, byte[] body, long bodyLength, String bodySha256,
                    List<Map.Entry<String, String>> trailers, String failure) {
        this.connectionId = connectionId;
        this.indexOnConnection = indexOnConnection;
        this.method = method;
        this.uri = uri;
        this.version = version;
        this.headers = List.copyOf(headers);
        this.body = body;
        this.bodyLength = bodyLength;
        this.bodySha256 = bodySha256;
        this.trailers = List.copyOf(trailers);
        this.failure = failure;
    }

    /** Which backend connection carried it: 1 for the first accepted connection, and so on. */
    public long connectionId() {
        return connectionId;
    }

    /** 0 for the first request on its connection; above 0 means the connection was reused. */
    public int indexOnConnection() {
        return indexOnConnection;
    }

    public String method() {
        return method;
    }

    /** The request target exactly as received, query included. */
    public String uri() {
        return uri;
    }

    /** The request target without its query. */
    public String path() {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** {@code HTTP/1.1} or {@code HTTP/1.0}. */
    public String version() {
        return version;
    }

    /** Every header field in arrival order, duplicates kept, names as sent. */
    public List<Map.Entry<String, String>> headers() {
        return headers;
    }

    /** The first value of the named header (case-insensitive), or null. */
    public String header(String name) {
        return first(headers, name);
    }

    /** Every value of the named header (case-insensitive), in order. */
    public List<String> headerValues(String name) {
        return all(headers, name);
    }

    /** True if the whole body was kept (it was within the backend's record limit). */
    public boolean bodyRetained() {
        return body != null;
    }

    /** A copy of the body; throws if it was longer than the backend's record limit (use {@link #bodySha256()}). */
    public byte[] body() {
        if (body == null) {
            throw new IllegalStateException("body of " + bodyLength + " bytes exceeded the record limit; use bodySha256()");
        }
        return body.clone();
    }

    /** The body decoded as UTF-8. */
    public String bodyString() {
        return new String(body(), StandardCharsets.UTF_8);
    }

    /** Body bytes received (after de-chunking). */
    public long bodyLength() {
        return bodyLength;
    }

    /** Hex SHA-256 of the body bytes received. */
    public String bodySha256() {
        return bodySha256;
    }

    /** Trailer fields of a chunked body, in order. */
    public List<Map.Entry<String, String>> trailers() {
        return trailers;
    }

    /** The first value of the named trailer (case-insensitive), or null. */
    public String trailer(String name) {
        return first(trailers, name);
    }

    /** True if the request arrived whole and well-formed. */
    public boolean complete() {
        return failure == null;
    }

    /**
     * Why the request is incomplete (decoder error, connection closed mid-body), or null. For a request the
     * decoder rejected, method and uri are Netty's placeholders ({@code GET /bad-request}), not what was sent.
     */
    public String failure() {
        return failure;
    }

    @Override
    public String toString() {
        return method + " " + uri + " " + version + " [conn " + connectionId + " #" + indexOnConnection + ", body "
                + bodyLength + " bytes" + (failure == null ? "" : ", failure: " + failure) + "]";
    }

    static String first(List<Map.Entry<String, String>> fields, String name) {
        for (Map.Entry<String, String> e : fields) {
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    static List<String> all(List<Map.Entry<String, String>> fields, String name) {
        return fields.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
    }
}
