package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes header fields ({@code name: value CRLF} each) into a buffer in one copy.
 *
 * <p>Netty's encoder writes each name, separator, value and line end into the pooled direct buffer
 * separately, and every such write checks the buffer's bounds and its reference count: in a
 * profile under load, more of the encoder's time than the bytes themselves. Here the fields are
 * laid out in a per-thread byte array and copied into the buffer once.
 *
 * <p>Values go out byte for byte as they came in, as with Netty's encoder: Netty decodes a field
 * value's bytes as ISO-8859-1, one char per byte, and this writes each char's low byte back, so
 * obs-text (RFC 9110 §5.5) passes through unchanged. Values Sluice sets itself are ASCII.
 *
 * <p>Used by the encoders of both directions (requests to endpoints, {@link UpstreamCodec};
 * responses to clients, the server's ResponseEncoder); it lives here because the server package
 * depends on this one and not the other way round.
 */
public final class HeaderBytes {
    private static final int INITIAL = 4096;

    private static final FastThreadLocal<byte[][]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[][] initialValue() {
            return new byte[][] {new byte[INITIAL]};
        }
    };

    private HeaderBytes() {}

    public static void write(HttpHeaders headers, ByteBuf buf) {
        byte[][] holder = SCRATCH.get();
        int n = fields(holder, 0, headers);
        buf.writeBytes(holder[0], 0, n);
    }

    /**
     * The fields as lines ({@code name: value CRLF} each), in a new array of exactly their size:
     * the bytes the encoders would send (a recording's copy of a head, docs/recording.md).
     */
    public static byte[] lines(HttpHeaders headers) {
        byte[][] holder = SCRATCH.get();
        int n = fields(holder, 0, headers);
        return java.util.Arrays.copyOf(holder[0], n);
    }

    /** Lays out {@code name: value CRLF} for each field after {@code n} bytes of scratch; returns the new length. */
    private static int fields(byte[][] holder, int n, HttpHeaders headers) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> field = it.next();
            CharSequence name = field.getKey();
            CharSequence value = field.getValue();
            byte[] a = room(holder, n, name.length() + value.length() + 4);
            n = put(a, n, name);
            a[n++] = ':';
            a[n++] = ' ';
            n = put(a, n, value);
            a[n++] = '\r';
            a[n++] = '\n';
        }
        return n;
    }

    /**
     * A request's whole head (request line, fields, empty line) in one buffer of exactly its
     * size, written with one copy. The request target goes out byte for byte as it came in, like
     * field values; an absolute-form target with no path gets one ({@code http://h} → {@code
     * http://h/}, RFC 9112 §3.2.2), as Netty's encoder does.
     */
    public static ByteBuf requestHead(ByteBufAllocator alloc, HttpRequest request) {
        return head(alloc, request.method().asciiName(), withPath(request.uri()), request.protocolVersion().text(),
                request.headers());
    }

    /**
     * A response's whole head (status line, fields, empty line) in one buffer of exactly its
     * size. The reason phrase goes out byte for byte, like field values.
     */
    public static ByteBuf responseHead(ByteBufAllocator alloc, HttpResponse response) {
        HttpResponseStatus status = response.status();
        return head(alloc, response.protocolVersion().text(), status.codeAsText(), status.reasonPhrase(), response.headers());
    }

    /** {@code first SP second SP third CRLF}, the fields, CRLF. */
    private static ByteBuf head(ByteBufAllocator alloc, CharSequence first, CharSequence second, CharSequence third,
                                HttpHeaders headers) {
        byte[][] holder = SCRATCH.get();
        byte[] a = room(holder, 0, first.length() + second.length() + third.length() + 4);
        int n = put(a, 0, first);
        a[n++] = ' ';
        n = put(a, n, second);
        a[n++] = ' ';
        n = put(a, n, third);
        a[n++] = '\r';
        a[n++] = '\n';
        n = fields(holder, n, headers);
        a = room(holder, n, 2);
        a[n++] = '\r';
        a[n++] = '\n';
        return alloc.buffer(n).writeBytes(a, 0, n);
    }

    /** This thread's scratch array, at least {@code size} bytes long; for one head at a time, copied out before the next. */
    static byte[] scratch(int size) {
        return room(SCRATCH.get(), 0, size);
    }

    /** The scratch array with room for {@code need} more bytes after {@code used}, grown (keeping them) if not. */
    private static byte[] room(byte[][] holder, int used, int need) {
        byte[] a = holder[0];
        if (used + need > a.length) {
            a = java.util.Arrays.copyOf(a, Math.max(used + need, 2 * a.length));
            holder[0] = a;
        }
        return a;
    }

    private static String withPath(String target) {
        if (target.isEmpty()) {
            return "/";
        }
        int scheme = target.charAt(0) == '/' ? -1 : target.indexOf("://");
        if (scheme < 0) {
            return target;
        }
        int authority = scheme + 3;
        // The path ends at the query or the fragment, whichever comes first (RFC 3986 §3): a '/'
        // put after a fragment ("http://h#f" → "http://h#f/") changed the target the client sent
        // (found by ProxyDifferentialFuzzTest, seed absolute-form-fragment-without-path).
        int pathEnd = authority;
        while (pathEnd < target.length() && target.charAt(pathEnd) != '?' && target.charAt(pathEnd) != '#') {
            pathEnd++;
        }
        if (target.lastIndexOf('/', pathEnd - 1) >= authority) {
            return target;
        }
        return target.substring(0, pathEnd) + '/' + target.substring(pathEnd);
    }

    /** Writes {@code s} into {@code a} at {@code n}, each char's low byte (as field values are written); returns the index after it. */
    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): each char's low byte, wanted here
    public static int put(byte[] a, int n, CharSequence s) {
        int len = s.length();
        if (s instanceof AsciiString ascii) {
            System.arraycopy(ascii.array(), ascii.arrayOffset(), a, n, len);
        } else if (s instanceof String string) {
            string.getBytes(0, len, a, n);
        } else {
            for (int i = 0; i < len; i++) {
                a[n + i] = (byte) s.charAt(i);
            }
        }
        return n + len;
    }
}
