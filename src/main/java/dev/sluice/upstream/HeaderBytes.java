package dev.sluice.upstream;

import io.netty.buffer.ByteBuf;
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
        byte[] a = holder[0];
        int n = 0;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> field = it.next();
            CharSequence name = field.getKey();
            CharSequence value = field.getValue();
            int need = name.length() + value.length() + 4;
            if (n + need > a.length) {
                buf.writeBytes(a, 0, n);
                n = 0;
                if (need > a.length) {
                    a = new byte[Math.max(need, 2 * a.length)];
                    holder[0] = a;
                }
            }
            n = put(a, n, name);
            a[n++] = ':';
            a[n++] = ' ';
            n = put(a, n, value);
            a[n++] = '\r';
            a[n++] = '\n';
        }
        buf.writeBytes(a, 0, n);
    }

    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): each char's low byte, wanted here
    private static int put(byte[] a, int n, CharSequence s) {
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
