package dev.sluice.exchange;

import dev.sluice.config.UpstreamHostConfig;
import dev.sluice.http.FieldNames;
import dev.sluice.http.HeaderBytes;
import dev.sluice.http.HopByHop;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.route.Route;
import dev.sluice.route.Variables;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What Sluice changes in the headers it forwards: hop-by-hop fields removed ({@link HopByHop}),
 * {@code Via} appended (§7.6.3), the {@code X-Forwarded-*} trio set, and a request id kept or
 * made.
 */
public final class HeaderPolicy {
    static final AsciiString X_FORWARDED_FOR = FieldNames.X_FORWARDED_FOR;
    static final AsciiString X_FORWARDED_PROTO = FieldNames.X_FORWARDED_PROTO;
    static final AsciiString X_FORWARDED_HOST = FieldNames.X_FORWARDED_HOST;
    static final AsciiString X_REQUEST_ID = FieldNames.X_REQUEST_ID;
    static final String VIA_VALUE = "1.1 sluice";
    /** Longest incoming request id we keep; anything longer is likely abuse of the log. */
    static final int MAX_REQUEST_ID_LENGTH = 128;

    private HeaderPolicy() {}

    /**
     * Makes {@code request} the one Sluice forwards: hop-by-hop fields out, {@code Expect} out
     * (Sluice answers {@code 100 Continue} itself once it has somewhere to send the body, as Envoy
     * does; an HTTP/1.0 backend would not understand the expectation), X-Forwarded-*, the request
     * id and Via in; then the route's rewrite of the path, its header rules and its fixed
     * {@code Host} (after X-Forwarded-Host took the client's). A request {@code verbatim} (received
     * and still unedited) whose route edits no field keeps its lines as they came and gets the
     * same fields as added lines (a rewritten path keeps that too: only the request line changes);
     * otherwise its header map is edited. Returns whether the client sent an {@code Idempotency-Key}.
     */
    static boolean prepareForwarding(HttpRequest request, ReceivedRequest verbatim, String requestId, String host,
                                     String client, boolean trustedClient, Route route, Variables variables) {
        return prepareForwarding(request, verbatim, requestId, null, host, client, trustedClient, false, route,
                variables);
    }

    /**
     * @param startedTrace the {@code traceparent} Sluice started for the request, or null when the
     *     client's goes on: a received request gets it as an added line, or in its map once made (a
     *     request that came with a map has it already: {@code TraceParent.ensure})
     * @param https the client came over TLS: {@code X-Forwarded-Proto: https}
     */
    static boolean prepareForwarding(HttpRequest request, ReceivedRequest verbatim, String requestId,
                                     String startedTrace, String host, String client, boolean trustedClient,
                                     boolean https, Route route, Variables variables) {
        if (route.rewritesPath()) {
            request.setUri(route.rewrittenTarget(request.uri()));
        }
        boolean idempotencyKey;
        if (verbatim != null && verbatim.verbatim() && !route.editsRequestHead()) {
            idempotencyKey = verbatim.hasIdempotencyKey();
            verbatim.forwardVerbatim(addedRequestFields(requestId, client, host, https, startedTrace));
        } else {
            HttpHeaders headers = request.headers();
            if (verbatim != null) {
                // Its map was made after all (a route matching on a header, or editing one): the request id goes in it.
                headers.set(X_REQUEST_ID, requestId);
                if (startedTrace != null) {
                    headers.set(dev.sluice.http.TraceParent.TRACEPARENT, startedTrace);
                }
            }
            idempotencyKey = headers.contains(FieldNames.IDEMPOTENCY_KEY);
            removeHopByHop(headers);
            headers.remove(HttpHeaderNames.EXPECT);
            setForwarded(headers, client, trustedClient, https);
            appendVia(headers);
            route.requestHeaders().apply(headers, variables);
            if (route.upstreamHost() instanceof UpstreamHostConfig.Fixed fixed) {
                headers.set(HttpHeaderNames.HOST, fixed.name());
            }
        }
        request.setProtocolVersion(io.netty.handler.codec.http.HttpVersion.HTTP_1_1);
        return idempotencyKey;
    }

    /**
     * Removes hop-by-hop fields, including every field the {@code Connection} header names.
     * {@code Transfer-Encoding} stays: the encoder re-frames the body from it, chunk by chunk.
     * One pass over the fields finds what to remove; most messages have none, or only
     * {@code Connection} itself, and then nothing else is looked up.
     */
    static void removeHopByHop(HttpHeaders headers) {
        List<CharSequence> doomed = null;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> field = it.next();
            CharSequence name = field.getKey();
            if (!HopByHop.is(name)) {
                continue;
            }
            if (doomed == null) {
                doomed = new ArrayList<>(4);
            }
            doomed.add(name);
            if (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONNECTION)) {
                addNamedFields(field.getValue(), doomed);
            }
        }
        if (doomed != null) {
            for (CharSequence name : doomed) {
                headers.remove(name);
            }
        }
    }

    /** The field names a {@code Connection} value lists; never framing or routing fields. */
    private static void addNamedFields(CharSequence value, List<CharSequence> doomed) {
        int length = value.length();
        int start = 0;
        while (start <= length) {
            int comma = start;
            while (comma < length && value.charAt(comma) != ',') {
                comma++;
            }
            int from = start;
            int to = comma;
            while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
                from++;
            }
            while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
                to--;
            }
            CharSequence name = value.subSequence(from, to);
            // Never let "Connection: host" or "Connection: content-length" strip framing or routing fields.
            if (to > from && !AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.HOST)
                    && !AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH)
                    && !AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.TRANSFER_ENCODING)) {
                doomed.add(name);
            }
            start = comma + 1;
        }
    }

    /**
     * Sets {@code X-Forwarded-For/-Proto/-Host}. From a trusted proxy the incoming values are
     * believed and the peer is appended; from anyone else they are replaced, so a client cannot
     * forge its address for the backend.
     */
    static void setForwarded(HttpHeaders headers, String peerAddress, boolean trustedPeer) {
        setForwarded(headers, peerAddress, trustedPeer, false);
    }

    /** @param https the client came over TLS: the proto Sluice sets is {@code https} */
    static void setForwarded(HttpHeaders headers, String peerAddress, boolean trustedPeer, boolean https) {
        String incomingFor = trustedPeer ? joined(headers, X_FORWARDED_FOR) : null;
        headers.set(X_FORWARDED_FOR, incomingFor == null ? peerAddress : incomingFor + ", " + peerAddress);
        if (!trustedPeer || !headers.contains(X_FORWARDED_PROTO)) {
            headers.set(X_FORWARDED_PROTO, https ? "https" : "http");
        }
        if (!trustedPeer || !headers.contains(X_FORWARDED_HOST)) {
            String host = headers.get(HttpHeaderNames.HOST);
            if (host != null) {
                headers.set(X_FORWARDED_HOST, host);
            } else {
                headers.remove(X_FORWARDED_HOST);
            }
        }
    }

    static void appendVia(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.VIA)) {
            headers.set(HttpHeaderNames.VIA, VIA_VALUE);
            return;
        }
        headers.set(HttpHeaderNames.VIA, joined(headers, HttpHeaderNames.VIA) + ", " + VIA_VALUE);
    }

    private static final byte[] VIA_LINE = fieldLines("Via: " + VIA_VALUE);
    private static final byte[] VIA_CLOSE_LINES = fieldLines("Via: " + VIA_VALUE, "Connection: close");
    private static final byte[] VIA_KEEP_ALIVE_LINES = fieldLines("Via: " + VIA_VALUE, "Connection: keep-alive");

    /**
     * The field lines added to a response forwarded verbatim, as {@link #appendVia} and the
     * gateway's Connection rule add them to a map: Via (on a line of its own after any the
     * endpoint sent; one list either way, RFC 9110 §5.3), and Connection when the client
     * connection closes, or stays open for an HTTP/1.0 client.
     */
    public static byte[] addedResponseFields(boolean keepAlive, boolean http11Client) {
        return !keepAlive ? VIA_CLOSE_LINES : http11Client ? VIA_LINE : VIA_KEEP_ALIVE_LINES;
    }

    private static byte[] fieldLines(String... fields) {
        return (String.join("\r\n", fields) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static final AsciiString FORWARDED_FOR = AsciiString.cached("x-forwarded-for: ");
    private static final AsciiString PROTO_HTTP = AsciiString.cached("\r\nx-forwarded-proto: http\r\n");
    private static final AsciiString PROTO_HTTPS = AsciiString.cached("\r\nx-forwarded-proto: https\r\n");
    private static final AsciiString FORWARDED_HOST = AsciiString.cached("x-forwarded-host: ");
    private static final AsciiString REQUEST_ID = AsciiString.cached("x-request-id: ");
    private static final AsciiString TRACEPARENT_LINE = AsciiString.cached("traceparent: ");
    private static final AsciiString VIA = new AsciiString(VIA_LINE);

    /**
     * The field lines added to a request forwarded verbatim, which has no {@code X-Forwarded-*} and
     * no {@code x-request-id} of its own: what {@link #ensureRequestId}, {@link #setForwarded} and
     * {@link #appendVia} set in a map without them (trusted peer or not, the result is the same).
     * {@code host} is the request's Host value, or null.
     */
    static byte[] addedRequestFields(String requestId, String peerAddress, String host) {
        return addedRequestFields(requestId, peerAddress, host, false, null);
    }

    /** As above, with {@code traceparent: startedTrace} first when Sluice started the trace (else null). */
    static byte[] addedRequestFields(String requestId, String peerAddress, String host, boolean https,
                                     String startedTrace) {
        AsciiString proto = https ? PROTO_HTTPS : PROTO_HTTP;
        int size = (startedTrace == null ? 0 : TRACEPARENT_LINE.length() + startedTrace.length() + 2)
                + REQUEST_ID.length() + requestId.length() + 2 + FORWARDED_FOR.length() + peerAddress.length()
                + proto.length() + (host == null ? 0 : FORWARDED_HOST.length() + host.length() + 2) + VIA.length();
        byte[] a = new byte[size];
        int n = 0;
        if (startedTrace != null) {
            n = HeaderBytes.put(a, n, TRACEPARENT_LINE);
            n = HeaderBytes.put(a, n, startedTrace);
            a[n++] = '\r';
            a[n++] = '\n';
        }
        n = HeaderBytes.put(a, n, REQUEST_ID);
        n = HeaderBytes.put(a, n, requestId);
        a[n++] = '\r';
        a[n++] = '\n';
        n = HeaderBytes.put(a, n, FORWARDED_FOR);
        n = HeaderBytes.put(a, n, peerAddress);
        n = HeaderBytes.put(a, n, proto);
        if (host != null) {
            n = HeaderBytes.put(a, n, FORWARDED_HOST);
            n = HeaderBytes.put(a, n, host);
            a[n++] = '\r';
            a[n++] = '\n';
        }
        HeaderBytes.put(a, n, VIA);
        return a;
    }

    /**
     * A request without {@code Host} (HTTP/1.0 allows it) forwarded as HTTP/1.1, which requires
     * one (RFC 9112 §3.2): a copy with the endpoint's authority, as health checks send it; the
     * request itself is left as it is for an attempt at another endpoint.
     */
    static HttpRequest withHost(HttpRequest request, String endpointAuthority) {
        HttpHeaders headers = request.headers().copy();
        headers.set(HttpHeaderNames.HOST, endpointAuthority);
        return new DefaultHttpRequest(request.protocolVersion(), request.method(), request.uri(), headers);
    }

    /** Keeps a well-formed incoming {@code x-request-id}, otherwise sets one from {@code fresh} (asked only then); returns the one kept. */
    public static String ensureRequestId(HttpHeaders headers, java.util.function.Supplier<String> fresh) {
        String id = headers.get(X_REQUEST_ID);
        if (id != null && isWellFormedId(id) && headers.getAll(X_REQUEST_ID).size() == 1) {
            return id;
        }
        id = fresh.get();
        headers.set(X_REQUEST_ID, id);
        return id;
    }

    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** 128 random bits as 32 lower-case hex digits: the default request id. */
    public static String newRequestId() {
        return newRequestId(ThreadLocalRandom.current());
    }

    /** 128 bits of {@code r} as 32 lower-case hex digits. */
    public static String newRequestId(java.util.random.RandomGenerator r) {
        byte[] out = new byte[32];
        hex(r.nextLong(), out, 0);
        hex(r.nextLong(), out, 16);
        return new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static void hex(long v, byte[] out, int at) {
        for (int i = 15; i >= 0; i--) {
            out[at + i] = HEX[(int) (v & 0xf)];
            v >>>= 4;
        }
    }

    private static boolean isWellFormedId(String id) {
        if (id.isEmpty() || id.length() > MAX_REQUEST_ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    /** All values of a repeatable field as one comma-separated value (RFC 9110 §5.3), or null. */
    private static String joined(HttpHeaders headers, CharSequence name) {
        List<String> values = headers.getAll(name);
        if (values.isEmpty()) {
            return null;
        }
        return values.size() == 1 ? values.get(0) : String.join(", ", values);
    }
}
