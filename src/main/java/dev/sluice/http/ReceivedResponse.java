package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

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
public final class ReceivedResponse extends DefaultHttpResponse {
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    private final HeadFields fields;
    /** Index of the CR that ends the status line. */
    private final int statusLineEnd;
    private int keepAliveStart = -1;
    private int keepAliveEnd = -1;
    private boolean keepAlive;

    /** {@code head} runs from the status line to the end of its last field line, {@code fieldsEnd}. */
    ReceivedResponse(HttpVersion version, HttpResponseStatus status, byte[] head, int statusLineEnd, int fieldsEnd) {
        super(version, status, EmptyHttpHeaders.INSTANCE);
        this.fields = new HeadFields(head, statusLineEnd + 2, fieldsEnd);
        this.statusLineEnd = statusLineEnd;
    }

    // ---- what the decoder learned ----

    /** A hop-by-hop line, {@code [start, end)} with its CRLF; lines are reported in order. */
    void dropLine(int start, int end) {
        fields.drop(start, end);
    }

    /** The value of the first {@code Keep-Alive} field. */
    void keepAliveValue(int start, int end) {
        if (keepAliveStart < 0) {
            keepAliveStart = start;
            keepAliveEnd = end;
        }
    }

    void facts(boolean verbatimEligible, boolean keepAlive) {
        fields.eligible(verbatimEligible);
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
        return fields.verbatim();
    }

    /** Whether the endpoint keeps the connection open after this response ({@code HttpUtil.isKeepAlive}'s rule). */
    public boolean keepAlive() {
        return keepAlive;
    }

    /** The first {@code Keep-Alive} field's value, or null. */
    public String keepAliveField() {
        return keepAliveStart < 0 ? null
                : new String(fields.head(), keepAliveStart, keepAliveEnd - keepAliveStart, StandardCharsets.ISO_8859_1);
    }

    /**
     * Forwards this head as it came, less its hop-by-hop lines, with {@code fieldLines} (each
     * {@code name: value CRLF}) after its fields; called again, replaces them. Only while
     * {@link #verbatim()}.
     */
    public void forwardVerbatim(byte[] fieldLines) {
        fields.forward(fieldLines);
    }

    /** Whether {@link #forwardVerbatim} was called and the map has not been made since. */
    public boolean forwardedVerbatim() {
        return fields.forwarded();
    }

    /** The head as forwarded (status line, fields, empty line) in one buffer of exactly its size. */
    public ByteBuf writeForwarded(ByteBufAllocator alloc) {
        int codeAndReason = statusLineEnd - 9;
        boolean noReason = statusLineEnd == 12; // "HTTP/1.1 200" with no SP: one is added (RFC 9112 §4)
        int size = HTTP_1_1.length + codeAndReason + (noReason ? 1 : 0) + 2 + fields.forwardedLength();
        byte[] a = HeaderBytes.scratch(size);
        System.arraycopy(HTTP_1_1, 0, a, 0, HTTP_1_1.length);
        int n = HTTP_1_1.length;
        System.arraycopy(fields.head(), 9, a, n, codeAndReason);
        n += codeAndReason;
        if (noReason) {
            a[n++] = ' ';
        }
        a[n++] = '\r';
        a[n++] = '\n';
        return fields.writeHead(alloc, a, n);
    }

    /**
     * A field's value (its lines joined with {@code ", "}), or null; read without making the header
     * map, so asking keeps the head forwarded from its bytes.
     */
    public CharSequence field(AsciiString name) {
        return fields.value(name);
    }

    /** The fields as received, or once {@link #forwardVerbatim} was called, as forwarded (see {@link HeadFields}). */
    @Override
    public HttpHeaders headers() {
        return fields.map();
    }

    /** The fields as {@link #headers()} has them, in a new map: this head stays forwarded from its bytes. */
    public HttpHeaders fieldsCopy() {
        return fields.copy();
    }

    /**
     * The fields as {@link #headers()} has them, as lines ({@code name: value CRLF} each) in a new
     * array: one copy of the head's bytes, no map made (a recording's copy, docs/recording.md).
     */
    public byte[] fieldLines() {
        return fields.lines();
    }
}
