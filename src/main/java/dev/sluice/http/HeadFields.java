package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;
import java.util.Arrays;

/**
 * The field lines of a head kept as they were received, for a message forwarded from its bytes
 * ({@link ReceivedResponse}, {@link ReceivedRequest}): which lines are hop-by-hop (left out when
 * forwarded), the lines Sluice adds, and the header map, made only when asked for.
 *
 * <p>The map is the fields as received, or once {@link #forward} was called, the fields as
 * forwarded. Once made, it is what the message's encoder writes (an edit to it is never lost),
 * so the message is no longer forwarded from its bytes.
 */
final class HeadFields {
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    /** The head as received; the fields are {@code [fieldsStart, fieldsEnd)}, whole lines with their CRLF. */
    private final byte[] head;
    private final int fieldsStart;
    private final int fieldsEnd;
    /** {@code [start, end)} pairs of the hop-by-hop lines, in order; null when none. */
    private int[] dropped;
    private int droppedLength;
    private int droppedBytes;
    /** The field lines added when forwarding; null until {@link #forward}. */
    private byte[] added;
    private HttpHeaders map;
    private boolean eligible;

    HeadFields(byte[] head, int fieldsStart, int fieldsEnd) {
        this.head = head;
        this.fieldsStart = fieldsStart;
        this.fieldsEnd = fieldsEnd;
    }

    byte[] head() {
        return head;
    }

    /** A hop-by-hop line, {@code [start, end)} with its CRLF; lines are reported in order. */
    void drop(int start, int end) {
        if (dropped == null) {
            dropped = new int[4];
        } else if (droppedLength == dropped.length) {
            dropped = Arrays.copyOf(dropped, droppedLength * 2);
        }
        dropped[droppedLength++] = start;
        dropped[droppedLength++] = end;
        droppedBytes += end - start;
    }

    /** Whether the message may be forwarded from its bytes at all: the decoder's verdict. */
    void eligible(boolean eligible) {
        this.eligible = eligible;
    }

    /** Eligible, and the map has not been made. */
    boolean verbatim() {
        return eligible && map == null;
    }

    /**
     * Forwards the fields less the hop-by-hop lines, plus {@code fieldLines} (each {@code name:
     * value CRLF}); called again, replaces them. Only while {@link #verbatim()}.
     */
    void forward(byte[] fieldLines) {
        if (!verbatim()) {
            throw new IllegalStateException("this head cannot be forwarded from its bytes");
        }
        added = fieldLines;
    }

    /** Whether {@link #forward} was called and the map has not been made. */
    boolean forwarded() {
        return added != null && map == null;
    }

    /** The length of the forwarded fields and the empty line after them. */
    int forwardedLength() {
        return fieldsEnd - fieldsStart - droppedBytes + added.length + 2;
    }

    /**
     * The forwarded head in one buffer of exactly its size: the first line the caller laid out in
     * {@code a[0, n)} (from {@link HeaderBytes#scratch}), then the forwarded fields and the empty line.
     */
    ByteBuf writeHead(ByteBufAllocator alloc, byte[] a, int n) {
        n = copyForwarded(a, n);
        a[n++] = '\r';
        a[n++] = '\n';
        return alloc.buffer(n).writeBytes(a, 0, n);
    }

    private int copyForwarded(byte[] a, int n) {
        int from = fieldsStart;
        for (int i = 0; i < droppedLength; i += 2) {
            System.arraycopy(head, from, a, n, dropped[i] - from);
            n += dropped[i] - from;
            from = dropped[i + 1];
        }
        System.arraycopy(head, from, a, n, fieldsEnd - from);
        n += fieldsEnd - from;
        System.arraycopy(added, 0, a, n, added.length);
        return n + added.length;
    }

    /**
     * The value of the field {@code name} (lower case; matched in any case), its lines joined with {@code ", "} (RFC 9110
     * §5.3), or null when absent; read from the map once it is made, else from the bytes, without
     * making it (so a head looked at stays forwarded from its bytes).
     */
    CharSequence value(AsciiString name) {
        if (map != null) {
            java.util.List<String> all = map.getAll(name);
            return all.isEmpty() ? null : all.size() == 1 ? all.get(0) : String.join(", ", all);
        }
        CharSequence found = null;
        for (int line = fieldsStart; line < fieldsEnd; ) {
            int end = lineEnd(head, line);
            int nameEnd = line + name.length();
            if (nameEnd < end && head[nameEnd] == ':' && named(head, line, name)) {
                int valueStart = FieldSyntax.valueStart(head, nameEnd + 1, end);
                AsciiString value = new AsciiString(head, valueStart, FieldSyntax.valueEnd(head, valueStart, end) - valueStart,
                        false);
                found = found == null ? value : found + ", " + value;
            }
            line = end + 2;
        }
        return found;
    }

    HttpHeaders map() {
        if (map == null) {
            map = fresh();
        }
        return map;
    }

    /**
     * The fields as {@link #map} has them, in a new map of the caller's: the map is not made, so
     * the message stays forwarded from its bytes (a tap's copy of the head, docs/recording.md).
     */
    HttpHeaders copy() {
        return map != null ? map.copy() : fresh();
    }

    /**
     * The fields as {@link #map} has them, as lines ({@code name: value CRLF} each) in a new array
     * of exactly their size, without making the map: one copy of the bytes (a recording's).
     */
    byte[] lines() {
        if (map != null) {
            return HeaderBytes.lines(map);
        }
        if (added == null) {
            return Arrays.copyOfRange(head, fieldsStart, fieldsEnd);
        }
        byte[] a = new byte[fieldsEnd - fieldsStart - droppedBytes + added.length];
        copyForwarded(a, 0);
        return a;
    }

    private HttpHeaders fresh() {
        HttpHeaders h = HEADERS.newHeaders();
        boolean forwarded = added != null;
        int line = fieldsStart;
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
        return h;
    }

    /** Whether the line at {@code start} names {@code lowerName}, in any case. */
    private static boolean named(byte[] a, int start, AsciiString lowerName) {
        for (int i = 0; i < lowerName.length(); i++) {
            int b = a[start + i];
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != lowerName.byteAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int lineEnd(byte[] a, int from) {
        int i = from;
        while (a[i] != '\r') {
            i++;
        }
        return i;
    }

    /** One checked field line {@code a[start, end)} into the map, as the decoders read it. */
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
