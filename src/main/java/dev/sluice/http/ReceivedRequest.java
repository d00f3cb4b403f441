package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * A request head as a client sent it, kept as bytes; its header map is made only when something
 * asks for it. The counterpart of {@link ReceivedResponse} for the other direction.
 *
 * <p>The server's decoder makes one for the common request (no body, a standard method, see
 * {@code StrictRequestDecoder}) and notes what the gateway needs on the way: the first
 * {@code Host} value and how many there are, how many fields, whether the connection stays open,
 * whether an {@code Idempotency-Key} came, and the hop-by-hop lines. When the head needs no edit
 * but dropping those lines and adding Sluice's own ({@link #verbatim()}), the gateway names the
 * lines it adds ({@link #forwardVerbatim}) and the endpoint's encoder writes the request line, the
 * head's field lines less the hop-by-hop ones, and the added lines ({@link #writeForwarded}).
 *
 * <p>{@link #headers()} always tells the truth: the fields as received, or after {@link
 * #forwardVerbatim} the fields as forwarded; once the map is made it is what goes out.
 */
public final class ReceivedRequest extends DefaultHttpRequest {
    private static final byte[] SP_HTTP_1_1_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);

    private final HeadFields fields;
    private int hostStart = -1;
    private int hostEnd = -1;
    private int hosts;
    /** The first {@code User-Agent} and {@code Referer} values, {@code [start, end)} in the head; -1 when absent. */
    private int userAgentStart = -1;
    private int userAgentEnd;
    private int refererStart = -1;
    private int refererEnd;
    private int fieldCount;
    private boolean keepAlive;
    private boolean idempotencyKey;
    /** The first {@code traceparent} value, {@code [start, end)}; how many came; whether a {@code tracestate} did. */
    private int traceparentStart = -1;
    private int traceparentEnd;
    private int traceparents;
    private boolean tracestate;

    /** {@code head} runs from the request line to the end of the fields, {@code [fieldsStart, fieldsEnd)} whole lines. */
    public ReceivedRequest(HttpVersion version, HttpMethod method, String uri, byte[] head, int fieldsStart, int fieldsEnd) {
        super(version, method, uri, EmptyHttpHeaders.INSTANCE);
        this.fields = new HeadFields(head, fieldsStart, fieldsEnd);
    }

    // ---- what the decoder learned ----

    /** A hop-by-hop line, {@code [start, end)} with its CRLF; lines are reported in order. */
    public void dropLine(int start, int end) {
        fields.drop(start, end);
    }

    /** A {@code Host} field's value; the first one is kept. */
    public void hostValue(int start, int end) {
        if (hosts++ == 0) {
            hostStart = start;
            hostEnd = end;
        }
    }

    /** A {@code User-Agent} field's value; the first one is kept (for the access log). */
    public void userAgentValue(int start, int end) {
        if (userAgentStart < 0) {
            userAgentStart = start;
            userAgentEnd = end;
        }
    }

    /** A {@code Referer} field's value; the first one is kept (for the access log). */
    public void refererValue(int start, int end) {
        if (refererStart < 0) {
            refererStart = start;
            refererEnd = end;
        }
    }

    /** A {@code traceparent} field's value; the first one is kept, the others counted. */
    public void traceparentValue(int start, int end) {
        if (traceparents++ == 0) {
            traceparentStart = start;
            traceparentEnd = end;
        }
    }

    public void tracestateSeen() {
        tracestate = true;
    }

    /**
     * Whether the head's trace context can go on as it came: one valid {@code traceparent}
     * (kept, with its {@code tracestate}), or none and no {@code tracestate} (Sluice adds one).
     * Otherwise its map must be edited ({@link TraceParent#ensure}).
     */
    boolean traceContextForwardable() {
        return traceparents == 0 ? !tracestate
                : traceparents == 1 && TraceParent.valid(fields.head(), traceparentStart, traceparentEnd);
    }

    /** The one valid {@code traceparent} the client sent, or null (none: Sluice starts one). Only while {@link #verbatim()}. */
    public String traceparent() {
        return traceparents == 1 ? text(traceparentStart, traceparentEnd) : null;
    }

    public void facts(int fieldCount, boolean verbatimEligible, boolean keepAlive, boolean idempotencyKey) {
        this.fieldCount = fieldCount;
        fields.eligible(verbatimEligible);
        this.keepAlive = keepAlive;
        this.idempotencyKey = idempotencyKey;
    }

    // ---- for the gateway ----

    /**
     * Whether this head can be forwarded from its bytes: an origin-form target, a {@code Host}, no {@code Expect},
     * no {@code X-Forwarded-*} or {@code x-request-id} (which Sluice would have to weigh and
     * replace), nothing named by {@code Connection} but {@code close} and {@code keep-alive}; and
     * its header map has not been made.
     */
    public boolean verbatim() {
        return fields.verbatim();
    }

    /** The first {@code Host} value, or null. */
    public String host() {
        return hostStart < 0 ? null : new String(fields.head(), hostStart, hostEnd - hostStart, StandardCharsets.ISO_8859_1);
    }

    /** The first {@code User-Agent} value, or null. */
    public String userAgent() {
        return userAgentStart < 0 ? null : text(userAgentStart, userAgentEnd);
    }

    /** The first {@code Referer} value, or null. */
    public String referer() {
        return refererStart < 0 ? null : text(refererStart, refererEnd);
    }

    private String text(int start, int end) {
        return new String(fields.head(), start, end - start, StandardCharsets.ISO_8859_1);
    }

    public int hostCount() {
        return hosts;
    }

    public int fieldCount() {
        return fieldCount;
    }

    /** Whether the client keeps the connection open after this request ({@code HttpUtil.isKeepAlive}'s rule). */
    public boolean keepAlive() {
        return keepAlive;
    }

    public boolean hasIdempotencyKey() {
        return idempotencyKey;
    }

    /**
     * Forwards this head less its hop-by-hop lines, with {@code fieldLines} (each {@code name:
     * value CRLF}) after its fields. Only while {@link #verbatim()}.
     */
    public void forwardVerbatim(byte[] fieldLines) {
        fields.forward(fieldLines);
    }

    /** Whether {@link #forwardVerbatim} was called and the map has not been made since. */
    public boolean forwardedVerbatim() {
        return fields.forwarded();
    }

    /** The head as forwarded ({@code method SP target SP HTTP/1.1}, the fields, the empty line) in one buffer of exactly its size. */
    public ByteBuf writeForwarded(ByteBufAllocator alloc) {
        byte[] method = method().asciiName().array();
        int methodLength = method().asciiName().length();
        int methodOffset = method().asciiName().arrayOffset();
        String target = uri();
        int size = methodLength + 1 + target.length() + SP_HTTP_1_1_CRLF.length + fields.forwardedLength();
        byte[] a = HeaderBytes.scratch(size);
        System.arraycopy(method, methodOffset, a, 0, methodLength);
        int n = methodLength;
        a[n++] = ' ';
        n = HeaderBytes.put(a, n, target);
        System.arraycopy(SP_HTTP_1_1_CRLF, 0, a, n, SP_HTTP_1_1_CRLF.length);
        n += SP_HTTP_1_1_CRLF.length;
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
