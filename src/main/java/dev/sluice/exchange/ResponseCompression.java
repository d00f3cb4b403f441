package dev.sluice.exchange;

import dev.sluice.config.CompressionConfig.Encoding;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.route.Compression;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AsciiString;
import java.util.Optional;

/**
 * Whether the respond step compresses a backend's response, decided on its head and the
 * request's ({@link #decide}), and the head's edits when it does ({@link #compressedHead}). The
 * rules are nginx's gzip module's, with brotli beside gzip and {@code no-transform} honoured:
 *
 * <ul>
 * <li>never for a response to HEAD, a bodyless status (204, 205, 304), a part of a body (206),
 *     a body already encoded ({@code Content-Encoding}), or one marked {@code Cache-Control:
 *     no-transform} (RFC 9110 §7.7);
 * <li>only for the route's media types, and from its {@code min_size} by {@code Content-Length}
 *     (a body of unknown length is compressed);
 * <li>such a response varies with {@code Accept-Encoding} whether or not this client gets it
 *     compressed, so a cache never hands a compressed copy to a client that cannot read it; it
 *     carries {@code Vary: Accept-Encoding} either way (nginx's {@code gzip_vary on});
 * <li>compressed for HTTP/1.1 clients that accept one of the route's encodings (q above 0);
 *     like nginx's {@code gzip_http_version 1.1}, an HTTP/1.0 client gets the body as it is, which
 *     keeps its connection open (without chunked coding, a compressed body of unknown length
 *     could only end by closing).
 * </ul>
 *
 * Fields are read without making a head's map ({@link ReceivedResponse#field}), so a route
 * that compresses pays nothing more for a response it does not touch.
 */
final class ResponseCompression {
    private static final AsciiString NO_TRANSFORM = AsciiString.cached("no-transform");

    private ResponseCompression() {}

    /** What the respond step does to a response's body and head. */
    sealed interface Decision {
        /** The head is edited: the map is made. */
        boolean editsHead();
    }

    /** Not a response the route compresses: it goes out as it came. */
    record AsItIs(String why) implements Decision {
        @Override
        public boolean editsHead() {
            return false;
        }
    }

    /** Compressible, but this client takes none of the route's encodings: as it came, plus {@code Vary}. */
    record Identity(String why) implements Decision {
        @Override
        public boolean editsHead() {
            return true;
        }
    }

    /** Compressed with {@code encoding}. */
    record Compress(Encoding encoding) implements Decision {
        @Override
        public boolean editsHead() {
            return true;
        }
    }

    static final Decision NOT_CONFIGURED = new AsItIs("the route does not compress");
    private static final Decision HEAD = new AsItIs("a response to HEAD has no body");
    private static final Decision BODYLESS = new AsItIs("the status has no body");
    private static final Decision PARTIAL = new AsItIs("206: a range of the body, not the body");
    private static final Decision ENCODED = new AsItIs("Content-Encoding: already encoded");
    private static final Decision NO_TYPE = new AsItIs("no Content-Type");
    private static final Decision OTHER_TYPE = new AsItIs("a Content-Type the route does not compress");
    private static final Decision SMALL = new AsItIs("Content-Length below min_size");
    private static final Decision NO_TRANSFORM_ASKED = new AsItIs("Cache-Control: no-transform");
    private static final Decision HTTP_1_0 = new Identity("an HTTP/1.0 client");
    private static final Decision NOT_ACCEPTED = new Identity("the client accepts none of the route's encodings");
    private static final Decision BR = new Compress(Encoding.BR);
    private static final Decision GZIP = new Compress(Encoding.GZIP);

    /**
     * The decision for a final response (status 200 or above) of a route whose compression is
     * {@link Compression#on}; {@code clientHttp11}: the client's version, as it sent the request.
     */
    static Decision decide(Compression rule, HttpRequest request, HttpResponse response, boolean answersHead,
                           boolean clientHttp11) {
        if (answersHead) {
            return HEAD;
        }
        int status = response.status().code();
        if (status == 204 || status == 205 || status == 304) {
            return BODYLESS;
        }
        if (status == 206) {
            return PARTIAL;
        }
        CharSequence encoding = field(response, HttpHeaderNames.CONTENT_ENCODING);
        if (encoding != null && !encoding.isEmpty()) {
            return ENCODED;
        }
        CharSequence type = field(response, HttpHeaderNames.CONTENT_TYPE);
        if (type == null) {
            return NO_TYPE;
        }
        if (!rule.compressesType(type)) {
            return OTHER_TYPE;
        }
        CharSequence length = field(response, HttpHeaderNames.CONTENT_LENGTH);
        if (length != null && below(length, rule.minSize())) {
            return SMALL;
        }
        CharSequence cacheControl = field(response, HttpHeaderNames.CACHE_CONTROL);
        if (cacheControl != null && AsciiString.containsIgnoreCase(cacheControl, NO_TRANSFORM)) {
            return NO_TRANSFORM_ASKED;
        }
        if (!clientHttp11) {
            return HTTP_1_0;
        }
        CharSequence accept = field(request, HttpHeaderNames.ACCEPT_ENCODING);
        if (accept == null) {
            return NOT_ACCEPTED;
        }
        Optional<Encoding> chosen = rule.choose(accept);
        if (chosen.isEmpty()) {
            return NOT_ACCEPTED;
        }
        return chosen.get() == Encoding.BR ? BR : GZIP;
    }

    /** Whether a {@code Content-Length} value is a number below {@code min}; a value that is not one is left to the framing. */
    private static boolean below(CharSequence length, int min) {
        long n = 0;
        for (int i = 0; i < length.length(); i++) {
            char c = length.charAt(i);
            if (c < '0' || c > '9' || n > Integer.MAX_VALUE) {
                return false;
            }
            n = n * 10 + (c - '0');
        }
        return !length.isEmpty() && n < min;
    }

    private static CharSequence field(HttpMessage message, AsciiString name) {
        if (message instanceof ReceivedResponse raw) {
            return raw.field(name);
        }
        if (message instanceof ReceivedRequest raw) {
            return raw.field(name);
        }
        return message.headers().get(name);
    }

    /**
     * The head of a response compressed with {@code encoding}, as nginx's gzip filter leaves it:
     * {@code Content-Encoding} set; no {@code Content-Length} (the body's length is known only at
     * its end, so it goes out chunked, or close-delimited to HTTP/1.0); no {@code Accept-Ranges}
     * (a range of the compressed body is not a range of the resource); a strong {@code ETag}
     * made weak (the bytes differ, the resource does not: RFC 9110 §8.8.1); and {@code Vary}.
     */
    static void compressedHead(HttpHeaders headers, Encoding encoding) {
        headers.set(HttpHeaderNames.CONTENT_ENCODING, encoding.token());
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.remove(HttpHeaderNames.ACCEPT_RANGES);
        String etag = headers.get(HttpHeaderNames.ETAG);
        if (etag != null && !etag.startsWith("W/")) {
            if (etag.startsWith("\"")) {
                headers.set(HttpHeaderNames.ETAG, "W/" + etag);
            } else {
                headers.remove(HttpHeaderNames.ETAG); // not an entity-tag at all: nginx drops it too
            }
        }
        varyOnAcceptEncoding(headers);
    }

    /** Adds {@code Accept-Encoding} to {@code Vary}, unless it is there already, or {@code Vary: *}. */
    static void varyOnAcceptEncoding(HttpHeaders headers) {
        for (String vary : headers.getAll(HttpHeaderNames.VARY)) {
            for (String name : vary.split(",")) {
                String n = name.strip();
                if (n.equals("*") || n.equalsIgnoreCase("accept-encoding")) {
                    return;
                }
            }
        }
        headers.add(HttpHeaderNames.VARY, "Accept-Encoding");
    }
}
