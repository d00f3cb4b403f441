package dev.sluice.testing;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ready-made {@link BackendHandler}s for the behaviours integration tests keep needing.
 *
 * <pre>{@code
 * TestBackend.start(BackendHandlers.hash());                                  // digest of the upload
 * TestBackend.start(BackendHandlers.delayed(Duration.ofSeconds(2), BackendHandlers.status(200)));
 * }</pre>
 */
public final class BackendHandlers {
    private BackendHandlers() {}

    /** {@code status} with an empty body ({@code Content-Length: 0}). */
    public static BackendHandler status(int status) {
        return ex -> ex.respond(status, EmptyHttpHeaders.INSTANCE, new byte[0]);
    }

    /** {@code status} with a UTF-8 text body. */
    public static BackendHandler fixed(int status, String body) {
        return ex -> ex.respond(status, body);
    }

    /** {@code status} with the given headers and body. */
    public static BackendHandler fixed(int status, HttpHeaders headers, byte[] body) {
        HttpHeaders copy = new DefaultHttpHeaders().add(headers);
        return ex -> ex.respond(status, copy, body);
    }

    /**
     * 200 with a JSON description of the request as received:
     * {@code {"method","uri","version","headers":[[name,value],...],"trailers":[...],"bodyLength","bodySha256","body"}},
     * {@code body} being the UTF-8 text of the body, or null past the record limit.
     */
    public static BackendHandler echo() {
        return ex -> {
            RecordedRequest r = ex.request();
            StringBuilder json = new StringBuilder(256).append('{');
            field(json, "method", r.method()).append(',');
            field(json, "uri", r.uri()).append(',');
            field(json, "version", r.version()).append(',');
            json.append("\"headers\":");
            pairs(json, r.headers()).append(",\"trailers\":");
            pairs(json, r.trailers()).append(',');
            json.append("\"bodyLength\":").append(r.bodyLength()).append(',');
            field(json, "bodySha256", r.bodySha256()).append(',');
            json.append("\"body\":");
            if (r.bodyRetained()) {
                string(json, r.bodyString());
            } else {
                json.append("null");
            }
            json.append("}\n");
            HttpHeaders h = new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            ex.respond(200, h, json.toString().getBytes(StandardCharsets.UTF_8));
        };
    }

    /**
     * 200 whose body is the request body, byte for byte, with {@code x-echo-method} and {@code x-echo-uri}
     * headers; 413 if the body was longer than the record limit.
     */
    public static BackendHandler echoBody() {
        return ex -> {
            RecordedRequest r = ex.request();
            if (!r.bodyRetained()) {
                ex.respond(413, "body too large to echo; use hash()\n");
                return;
            }
            HttpHeaders h = new DefaultHttpHeaders()
                    .set("x-echo-method", r.method())
                    .set("x-echo-uri", r.uri())
                    .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            ex.respond(200, h, r.body());
        };
    }

    /**
     * 200 with body {@code "<sha256-hex> <length>\n"} and headers {@code x-body-sha256}, {@code x-body-length}
     * for the request body, which was streamed through SHA-256 and never held whole.
     */
    public static BackendHandler hash() {
        return ex -> {
            RecordedRequest r = ex.request();
            HttpHeaders h = new DefaultHttpHeaders()
                    .set("x-body-sha256", r.bodySha256())
                    .set("x-body-length", r.bodyLength())
                    .set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            ex.respond(200, h, (r.bodySha256() + " " + r.bodyLength() + "\n").getBytes(StandardCharsets.US_ASCII));
        };
    }

    /**
     * 200 streaming {@code bytes} of {@link PseudoRandomBody}, generated as the client reads (never held),
     * framed by Content-Length or chunked. Check it with {@link PseudoRandomBody#sha256(long)}.
     */
    public static BackendHandler download(long bytes, boolean chunked) {
        return ex -> {
            HttpHeaders h = new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            if (!chunked) {
                h.set(HttpHeaderNames.CONTENT_LENGTH, bytes);
            }
            ex.stream(200, h, PseudoRandomBody.chunkedInput(bytes), EmptyHttpHeaders.INSTANCE);
        };
    }

    /** 200, chunked, one chunk per element (each flushed), ending with the given trailer fields. */
    public static BackendHandler chunkedWithTrailers(List<String> chunks, Map<String, String> trailers) {
        return ex -> {
            HttpHeaders h = new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            if (!trailers.isEmpty()) {
                h.set(HttpHeaderNames.TRAILER, String.join(", ", trailers.keySet()));
            }
            ex.startResponse(200, h);
            chunks.forEach(c -> ex.writeContent(c.getBytes(StandardCharsets.UTF_8)));
            HttpHeaders t = new DefaultHttpHeaders();
            trailers.forEach(t::add);
            ex.endResponse(t);
        };
    }

    /** 200, chunked, sending {@code chunks} chunks of {@code chunkSize} bytes one {@code interval} apart: a slow origin. */
    public static BackendHandler drip(int chunks, int chunkSize, Duration interval) {
        return ex -> {
            ex.startResponse(200, new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, "text/plain"));
            dripNext(ex, chunks, "x".repeat(chunkSize).getBytes(StandardCharsets.US_ASCII), interval);
        };
    }

    private static void dripNext(BackendExchange ex, int left, byte[] chunk, Duration interval) {
        if (left == 0) {
            ex.endResponse();
            return;
        }
        ex.schedule(interval, () -> {
            ex.writeContent(chunk);
            dripNext(ex, left - 1, chunk, interval);
        });
    }

    /** Answers as {@code inner} would, but {@code delay} later (the request body is read at once). */
    public static BackendHandler delayed(Duration delay, BackendHandler inner) {
        return new BackendHandler() {
            @Override
            public void onHead(BackendExchange ex) {
                inner.onHead(ex);
            }

            @Override
            public void onRequest(BackendExchange ex) {
                ex.schedule(delay, () -> inner.onRequest(ex));
            }
        };
    }

    /** An HTTP/1.1 response with neither Content-Length nor chunking: the body ends when the connection closes. */
    public static BackendHandler closeDelimited(String body) {
        return closeDelimited(HttpVersion.HTTP_1_1, body);
    }

    /** An {@code HTTP/1.0 200 OK} response as an old server sends it: no Content-Length, ended by closing. */
    public static BackendHandler http10(String body) {
        return closeDelimited(HttpVersion.HTTP_1_0, body);
    }

    private static BackendHandler closeDelimited(HttpVersion version, String body) {
        return ex -> {
            ex.startCloseDelimitedResponse(version, 200, new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_TYPE, "text/plain"));
            ex.writeContent(body.getBytes(StandardCharsets.UTF_8));
            ex.endResponse();
        };
    }

    /** {@code inner}'s response with {@code Connection: close}, and the connection closed after it. */
    public static BackendHandler connectionClose(BackendHandler inner) {
        return new BackendHandler() {
            @Override
            public void onHead(BackendExchange ex) {
                ex.closeAfterResponse();
                inner.onHead(ex);
            }

            @Override
            public void onRequest(BackendExchange ex) {
                inner.onRequest(ex);
            }
        };
    }

    /** Sends {@code 103 Early Hints} with {@code Link: <link>} as soon as the head arrives, then answers as {@code inner}. */
    public static BackendHandler earlyHints(String link, BackendHandler inner) {
        return new BackendHandler() {
            @Override
            public void onHead(BackendExchange ex) {
                ex.sendInterim(103, new DefaultHttpHeaders().add("link", link));
                inner.onHead(ex);
            }

            @Override
            public void onRequest(BackendExchange ex) {
                inner.onRequest(ex);
            }
        };
    }

    /** Sends {@code 100 Continue} to a request with {@code Expect: 100-continue}, then answers as {@code inner}. */
    public static BackendHandler expectContinue(BackendHandler inner) {
        return new BackendHandler() {
            @Override
            public void onHead(BackendExchange ex) {
                if (ex.expectsContinue()) {
                    ex.sendInterim(100, EmptyHttpHeaders.INSTANCE);
                }
                inner.onHead(ex);
            }

            @Override
            public void onRequest(BackendExchange ex) {
                inner.onRequest(ex);
            }
        };
    }

    /** 204 No Content. */
    public static BackendHandler noContent() {
        return status(204);
    }

    /** 304 Not Modified with an {@code ETag}. */
    public static BackendHandler notModified(String etag) {
        return ex -> ex.respond(304, new DefaultHttpHeaders().set(HttpHeaderNames.ETAG, etag), new byte[0]);
    }

    /** Closes the connection (FIN) instead of answering: the request reached the app, no response came. */
    public static BackendHandler closeConnection() {
        return BackendExchange::closeConnection;
    }

    /** Resets the connection (RST) instead of answering. */
    public static BackendHandler resetConnection() {
        return BackendExchange::resetConnection;
    }

    /** Never answers (the connection stays open): for response timeouts. */
    public static BackendHandler neverRespond() {
        return ex -> {};
    }

    /**
     * Declares {@code Content-Length: declared}, sends only {@code sent} bytes of body, then closes (FIN):
     * a backend dying mid-response.
     */
    public static BackendHandler truncated(int declared, int sent) {
        return ex -> {
            ex.startResponse(200, new DefaultHttpHeaders().set(HttpHeaderNames.CONTENT_LENGTH, declared));
            ex.writeContent(PseudoRandomBody.bytes(sent));
            ex.closeConnection();
        };
    }

    /** Request {@code i} (counted across connections, from 0) goes to {@code handlers[i]}; the last one repeats. */
    public static BackendHandler sequence(BackendHandler... handlers) {
        if (handlers.length == 0) {
            throw new IllegalArgumentException("at least one handler");
        }
        List<BackendHandler> list = List.of(handlers);
        AtomicInteger next = new AtomicInteger();
        return new BackendHandler() {
            // Chosen at the head so onHead and onRequest of one request go to the same handler.
            private final Map<BackendExchange, BackendHandler> chosen = new java.util.concurrent.ConcurrentHashMap<>();

            @Override
            public void onHead(BackendExchange ex) {
                BackendHandler h = list.get(Math.min(next.getAndIncrement(), list.size() - 1));
                chosen.put(ex, h);
                h.onHead(ex);
            }

            @Override
            public void onRequest(BackendExchange ex) {
                BackendHandler h = chosen.remove(ex);
                (h != null ? h : list.get(list.size() - 1)).onRequest(ex);
            }
        };
    }

    private static StringBuilder field(StringBuilder json, String name, String value) {
        string(json, name).append(':');
        return string(json, value);
    }

    private static StringBuilder pairs(StringBuilder json, List<Map.Entry<String, String>> fields) {
        json.append('[');
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) {
                json.append(',');
            }
            json.append('[');
            string(json, fields.get(i).getKey()).append(',');
            string(json, fields.get(i).getValue()).append(']');
        }
        return json.append(']');
    }

    private static StringBuilder string(StringBuilder json, String s) {
        json.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"');
    }
}
