package dev.sluice.server;

import dev.sluice.failure.FailureKind;
import dev.sluice.http.FieldSyntax;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * An HTTP/2 request head made into the HTTP/1.1 request the exchange forwards, strictly: a head
 * that HTTP/1.1 would read differently from HTTP/2 is refused, never forwarded. This is where
 * h2-to-h1 request smuggling is stopped: a field value with CR or LF would end the line early,
 * {@code Transfer-Encoding} or a second {@code Content-Length} would frame the body differently
 * for the backend than the DATA frames did, a {@code :path} with a space would end the request
 * line. Netty's decoder refuses much of this already (uppercase names, connection-specific
 * fields, pseudo-fields out of order, a body longer or shorter than {@code content-length});
 * every rule is checked here again, so the guard does not depend on a decoder setting.
 *
 * <p>A pure function: {@link #toHttp1} takes the decoded fields and answers a value.
 */
final class Http2Requests {
    /** The answer: the request to forward, or why it is malformed (RFC 9113 §8.1.1). */
    sealed interface Converted {
        /**
         * @param request HTTP/1.1, {@code Host} first; chunked when a body of no declared length follows
         * @param authority the request's host ({@code :authority}, else {@code host})
         * @param contentLength the declared body length, or -1
         * @param bodyless the HEADERS frame ended the stream (or the stream becomes a tunnel)
         * @param webSocket an extended CONNECT for a WebSocket (RFC 8441): {@code request} is the
         *     HTTP/1.1 GET that asks the endpoint to upgrade, and the stream becomes the tunnel
         */
        record Request(HttpRequest request, String authority, long contentLength, boolean bodyless,
                       boolean webSocket) implements Converted {}

        record Malformed(FailureKind kind, String why) implements Converted {}
    }

    private static final AsciiString TE = HttpHeaderNames.TE;
    private static final AsciiString TRAILERS = HttpHeaderValues.TRAILERS;

    private Http2Requests() {}

    /**
     * @param endStream the HEADERS frame carried END_STREAM: no body follows
     * @param maxFields most regular fields accepted (the listener's {@code max_headers}; 431 beyond)
     */
    static Converted toHttp1(Http2Headers fields, boolean endStream, int maxFields) {
        CharSequence method = null;
        CharSequence scheme = null;
        CharSequence path = null;
        CharSequence authority = null;
        CharSequence protocol = null;
        CharSequence host = null;
        long contentLength = -1;
        int count = 0;
        boolean regularSeen = false;
        HttpHeaders headers = new DefaultHttpHeaders(false);
        StringBuilder cookies = null;
        for (Map.Entry<CharSequence, CharSequence> field : fields) {
            CharSequence name = field.getKey();
            CharSequence value = field.getValue();
            if (!validValue(value)) {
                return malformed("field " + name + " has a value with CR, LF, NUL or surrounding whitespace");
            }
            if (name.length() > 0 && name.charAt(0) == ':') {
                // RFC 9113 §8.3: pseudo-fields come first, once each, and only those of a request.
                if (regularSeen) {
                    return malformed("pseudo-field " + name + " after a regular field");
                }
                boolean repeated;
                switch (name.toString()) {
                    case ":method" -> { repeated = method != null; method = value; }
                    case ":scheme" -> { repeated = scheme != null; scheme = value; }
                    case ":path" -> { repeated = path != null; path = value; }
                    case ":authority" -> { repeated = authority != null; authority = value; }
                    case ":protocol" -> { repeated = protocol != null; protocol = value; }
                    default -> {
                        return malformed("pseudo-field " + name + " is not a request's");
                    }
                }
                if (repeated) {
                    return malformed("pseudo-field " + name + " repeated");
                }
                continue;
            }
            regularSeen = true;
            if (!validName(name)) {
                // RFC 9113 §8.2.1: a name must be lowercase (and a token).
                return malformed("field name " + name + " is not a lowercase token");
            }
            // RFC 9113 §8.2.2: connection-specific fields make a request malformed; TE only as "trailers".
            if (connectionSpecific(name)) {
                return malformed("connection-specific field " + name);
            }
            if (AsciiString.contentEquals(name, TE) && !AsciiString.contentEqualsIgnoreCase(value, TRAILERS)) {
                return malformed("te other than trailers");
            }
            if (++count > maxFields) {
                return new Converted.Malformed(FailureKind.HEADERS_TOO_LARGE, "more than " + maxFields + " fields");
            }
            if (AsciiString.contentEquals(name, HttpHeaderNames.CONTENT_LENGTH)) {
                long length = contentLength(value);
                if (length < 0 || contentLength >= 0 && length != contentLength) {
                    return malformed("content-length " + value + " is not one number");
                }
                contentLength = length;
                continue; // set once, below
            }
            if (AsciiString.contentEquals(name, HttpHeaderNames.HOST)) {
                if (host != null) {
                    return malformed("two host fields");
                }
                host = value;
                continue; // set first, below
            }
            if (AsciiString.contentEquals(name, HttpHeaderNames.COOKIE)) {
                // RFC 9113 §8.2.3: cookie crumbs are joined with "; " for HTTP/1.1.
                cookies = cookies == null ? new StringBuilder(value) : cookies.append("; ").append(value);
                continue;
            }
            headers.add(name, value);
        }
        if (method == null || scheme == null || path == null) {
            return malformed("a request needs :method, :scheme and :path");
        }
        if (!FieldSyntax.isToken(method.toString())) {
            return malformed(":method is not a token");
        }
        boolean connect = HttpMethod.CONNECT.name().contentEquals(method);
        if (connect && protocol == null) {
            // Sluice is no forward proxy, as for HTTP/1.1.
            return malformed("CONNECT is not supported");
        }
        if (protocol != null && !connect) {
            // RFC 8441 §4: :protocol belongs to an extended CONNECT only.
            return malformed(":protocol on a " + method + " request");
        }
        if (protocol != null && !AsciiString.contentEquals(protocol, HttpHeaderValues.WEBSOCKET)) {
            // RFC 8441 §4 registers the tokens; Sluice tunnels only WebSockets.
            return malformed("extended CONNECT for " + protocol + " is not supported");
        }
        if (!AsciiString.contentEquals(scheme, "https") && !AsciiString.contentEquals(scheme, "http")) {
            return malformed(":scheme " + scheme + " is not http or https");
        }
        if (!validTarget(path, method)) {
            return malformed(":path is not an origin-form target");
        }
        if (authority != null && !validAuthority(authority) || host != null && !validAuthority(host)) {
            return malformed(":authority or host is not a host[:port]");
        }
        // RFC 9113 §8.3.1: a host field naming another host than :authority is malformed.
        if (authority != null && host != null && !AsciiString.contentEqualsIgnoreCase(authority, host)) {
            return malformed(":authority and host disagree");
        }
        CharSequence target = authority != null ? authority : host;
        if (target == null || target.isEmpty()) {
            return malformed("no :authority and no host");
        }
        if (endStream && contentLength > 0) {
            return malformed("content-length " + contentLength + " with no body");
        }
        if (connect && (endStream || contentLength >= 0)) {
            // The stream is the tunnel: its DATA frames are the WebSocket's bytes, never a body.
            return malformed("extended CONNECT with " + (endStream ? "END_STREAM" : "a content-length"));
        }
        HttpHeaders forwarded = new DefaultHttpHeaders(false);
        forwarded.add(HttpHeaderNames.HOST, target);
        forwarded.add(headers);
        if (cookies != null) {
            forwarded.add(HttpHeaderNames.COOKIE, cookies.toString());
        }
        if (connect) {
            // RFC 8441 §5: the same WebSocket as an HTTP/1.1 GET that asks for the upgrade (which the
            // exchange adds); a Sec-WebSocket-Key, which HTTP/2 has no use for, is the caller's to add.
            HttpRequest upgrade = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path.toString(), forwarded);
            return new Converted.Request(upgrade, target.toString(), -1, true, true);
        }
        if (contentLength >= 0) {
            forwarded.set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
        } else if (!endStream) {
            // A body of unknown length: HTTP/1.1 frames it in chunks, one DATA frame's bytes each.
            forwarded.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method.toString()),
                path.toString(), forwarded);
        return new Converted.Request(request, target.toString(), contentLength, endStream || contentLength == 0, false);
    }

    private static Converted malformed(String why) {
        return new Converted.Malformed(FailureKind.BAD_REQUEST, why);
    }

    /** The trailer fields HTTP/1.1 cannot carry ({@code DefaultLastHttpContent} refuses them). */
    static boolean framingTrailer(CharSequence name) {
        return AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH)
                || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.TRANSFER_ENCODING)
                || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.TRAILER);
    }

    /** RFC 9113 §8.2.2's list. */
    static boolean connectionSpecific(CharSequence name) {
        return AsciiString.contentEquals(name, HttpHeaderNames.CONNECTION)
                || AsciiString.contentEquals(name, HttpHeaderNames.KEEP_ALIVE)
                || AsciiString.contentEquals(name, HttpHeaderNames.PROXY_CONNECTION)
                || AsciiString.contentEquals(name, HttpHeaderNames.TRANSFER_ENCODING)
                || AsciiString.contentEquals(name, HttpHeaderNames.UPGRADE);
    }

    /** A regular field (a trailer too): a lowercase token name and a value HTTP/1.1 reads the same. */
    static boolean validField(CharSequence name, CharSequence value) {
        return validName(name) && validValue(value);
    }

    private static boolean validName(CharSequence name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c > 0x7f || c >= 'A' && c <= 'Z' || !FieldSyntax.isTokenChar((byte) c)) {
                return false;
            }
        }
        return true;
    }

    /** RFC 9113 §8.2.1: no NUL, CR or LF anywhere, no whitespace at either end. */
    private static boolean validValue(CharSequence value) {
        int length = value.length();
        if (length > 0 && (isWhitespace(value.charAt(0)) || isWhitespace(value.charAt(length - 1)))) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = value.charAt(i);
            if (c > 0xff || !FieldSyntax.isFieldContent((byte) c)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isWhitespace(char c) {
        return c == ' ' || c == '\t';
    }

    /**
     * Origin form ({@code /path?query}), or {@code *} for OPTIONS: visible ASCII only, so the
     * HTTP/1.1 request line it becomes reads as one target (no space, no control, no fragment).
     */
    private static boolean validTarget(CharSequence path, CharSequence method) {
        if (AsciiString.contentEquals(path, "*")) {
            return HttpMethod.OPTIONS.name().contentEquals(method);
        }
        if (path.isEmpty() || path.charAt(0) != '/') {
            return false;
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '#') {
                return false;
            }
        }
        return true;
    }

    /** host[:port], an IP literal in brackets allowed; no userinfo, path or whitespace. */
    private static boolean validAuthority(CharSequence authority) {
        if (authority.isEmpty()) {
            return false;
        }
        for (int i = 0; i < authority.length(); i++) {
            char c = authority.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_' || c == '~' || c == '%';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Digits only (RFC 9110 §8.6), else -1. */
    private static long contentLength(CharSequence value) {
        if (value.isEmpty() || value.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }
}
