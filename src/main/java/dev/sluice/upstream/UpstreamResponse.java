package dev.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A response head from an endpoint, kept as the bytes it came in; its header map is made only
 * when something asks for it.
 *
 * <p>Most responses reach the client with the fields they came with, less the hop-by-hop ones,
 * plus {@code Via} (and now and then {@code Connection}). Making a map of every field only to
 * write each one back out took a fifth of the event loop's user time in a profile (the map in the
 * decoder, a pass over it for hop-by-hop names, the encoding). When the decoder finds a head that
 * can go out line by line ({@link #verbatim()}), the gateway names the lines it adds ({@link
 * #forwardVerbatim}) and the client's encoder copies the head's bytes less the hop-by-hop lines
 * ({@link #writeForwarded}).
 *
 * <p>{@link #headers()} always tells the truth: the fields as received, or after {@link
 * #forwardVerbatim} the fields as they will be forwarded. Once the map is made it is what goes
 * out (the encoder writes it as it writes any response), so an edit to it is never lost.
 */
public final class UpstreamResponse extends DefaultHttpResponse {
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    /** The head as received, from the status line to the end of its last field line. */
    private final byte[] head;
    /** Index of the CR that ends the status line. */
    private final int statusLineEnd;
    /** Index just past the last field line (where the empty line starts). */
    private final int fieldsEnd;
    /** {@code [start, end)} pairs of the hop-by-hop lines, whole with their CRLF, in order; null when none. */
    private int[] dropped;
    private int droppedLength;
    private int keepAliveStart = -1;
    private int keepAliveEnd = -1;
    private boolean verbatimEligible;
    private boolean keepAlive;
    /** The field lines Sluice adds when forwarding verbatim; null until {@link #forwardVerbatim}. */
    private byte[] added;
    private HttpHeaders headers;

    UpstreamResponse(HttpVersion version, HttpResponseStatus status, byte[] head, int statusLineEnd, int fieldsEnd) {
        super(version, status, EmptyHttpHeaders.INSTANCE);
        this.head = head;
        this.statusLineEnd = statusLineEnd;
        this.fieldsEnd = fieldsEnd;
    }

    // ---- what the decoder learned ----

    /** A hop-by-hop line, {@code [start, end)} with its CRLF; lines are reported in order. */
    void dropLine(int start, int end) {
        if (dropped == null) {
            dropped = new int[4];
        } else if (droppedLength == dropped.length) {
            dropped = Arrays.copyOf(dropped, droppedLength * 2);
        }
        dropped[droppedLength++] = start;
        dropped[droppedLength++] = end;
    }

    /** The value of the first {@code Keep-Alive} field. */
    void keepAliveValue(int start, int end) {
        if (keepAliveStart < 0) {
            keepAliveStart = start;
            keepAliveEnd = end;
        }
    }

    void facts(boolean verbatimEligible, boolean keepAlive) {
        this.verbatimEligible = verbatimEligible;
        this.keepAlive = keepAlive;
    }

    // ---- for the gateway ----

    /**
     * Whether this head can go out line by line, less its hop-by-hop lines: a final response, not
     * 204 or 205, framed by its length (or with no body), with no {@code Transfer-Encoding}, no
     * space before a colon, and nothing named by {@code Connection} but {@code close} and {@code
     * keep-alive}; and its header map has not been made.
     */
    public boolean verbatim() {
        return verbatimEligible && headers == null;
    }

    /** Whether the endpoint keeps the connection open after this response ({@code HttpUtil.isKeepAlive}'s rule). */
    public boolean keepAlive() {
        return keepAlive;
    }

    /** The first {@code Keep-Alive} field's value, or null. */
    public String keepAliveField() {
        return keepAliveStart < 0 ? null : new String(head, keepAliveStart, keepAliveEnd - keepAliveStart, StandardCharsets.ISO_8859_1);
    }

    /**
     * Forwards this head as it came, less its hop-by-hop lines, with {@code fieldLines} (each
     * {@code name: value CRLF}) after its fields; called again, replaces them. Only while
     * {@link #verbatim()}.
     */
    public void forwardVerbatim(byte[] fieldLines) {
        if (!verbatim()) {
            throw new IllegalStateException("this response head cannot be forwarded verbatim");
        }
        added = fieldLines;
    }

    /** Whether {@link #forwardVerbatim} was called and the map has not been made since. */
    public boolean forwardedVerbatim() {
        return added != null && headers == null;
    }

    /** The head as forwarded (status line, fields, empty line) in one buffer of exactly its size. */
    public ByteBuf writeForwarded(ByteBufAllocator alloc) {
        int reasonAndCode = statusLineEnd - 9;
        boolean noReason = statusLineEnd == 12; // "HTTP/1.1 200" with no SP: one is added (RFC 9112 §4)
        int fieldsStart = statusLineEnd + 2;
        int kept = fieldsEnd - fieldsStart;
        for (int i = 0; i < droppedLength; i += 2) {
            kept -= dropped[i + 1] - dropped[i];
        }
        int size = HTTP_1_1.length + reasonAndCode + (noReason ? 1 : 0) + 2 + kept + added.length + 2;
        byte[] a = HeaderBytes.scratch(size);
        System.arraycopy(HTTP_1_1, 0, a, 0, HTTP_1_1.length);
        int n = HTTP_1_1.length;
        System.arraycopy(head, 9, a, n, reasonAndCode);
        n += reasonAndCode;
        if (noReason) {
            a[n++] = ' ';
        }
        a[n++] = '\r';
        a[n++] = '\n';
        int from = fieldsStart;
        for (int i = 0; i < droppedLength; i += 2) {
            System.arraycopy(head, from, a, n, dropped[i] - from);
            n += dropped[i] - from;
            from = dropped[i + 1];
        }
        System.arraycopy(head, from, a, n, fieldsEnd - from);
        n += fieldsEnd - from;
        System.arraycopy(added, 0, a, n, added.length);
        n += added.length;
        a[n++] = '\r';
        a[n++] = '\n';
        return alloc.buffer(n).writeBytes(a, 0, n);
    }

    // ---- the map ----

    @Override
    public HttpHeaders headers() {
        HttpHeaders h = headers;
        if (h == null) {
            h = HEADERS.newHeaders();
            boolean forwarded = added != null;
            int line = statusLineEnd + 2;
            int next = 0; // the next dropped line, when forwarded
            while (line < fieldsEnd) {
                int end = lineEnd(head, line);
                if (forwarded && next < droppedLength && dropped[next] == line) {
                    next += 2;
                } else {
                    addField(h, head, line, end);
                }
                line = end + 2;
            }
            if (forwarded) {
                for (int start = 0; start < added.length; ) {
                    int end = lineEnd(added, start);
                    addField(h, added, start, end);
                    start = end + 2;
                }
            }
            headers = h;
        }
        return h;
    }

    private static int lineEnd(byte[] a, int from) {
        int i = from;
        while (a[i] != '\r') {
            i++;
        }
        return i;
    }

    /** One checked field line {@code a[start, end)} into the map, as the decoder reads it. */
    private static void addField(HttpHeaders h, byte[] a, int start, int end) {
        int nameEnd = start;
        while (FieldSyntax.isTokenChar(a[nameEnd])) {
            nameEnd++;
        }
        int colon = nameEnd;
        while (a[colon] != ':') {
            colon++;
        }
        int valueStart = FieldSyntax.valueStart(a, colon + 1, end);
        int valueEnd = FieldSyntax.valueEnd(a, valueStart, end);
        h.add(FieldNames.name(a, start, nameEnd),
                valueEnd == valueStart ? AsciiString.EMPTY_STRING : new AsciiString(a, valueStart, valueEnd - valueStart, false));
    }
}
