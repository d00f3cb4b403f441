package dev.sluice.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * W3C Trace Context's {@code traceparent} (Trace Context Level 1, §3.2): kept when valid, started
 * when missing or invalid.
 *
 * <p>Sluice records no spans, so it forwards a valid {@code traceparent} as it came, with its
 * {@code tracestate}: a new parent-id would name a span no tracing backend ever receives, and the
 * backend's span would hang under a parent that does not exist. When the header is missing,
 * repeated or invalid, Sluice starts a trace: a random trace-id and parent-id, flags {@code 01}
 * (sampled), and drops any {@code tracestate}, which belonged to another trace (§3.3: a vendor
 * that cannot parse {@code traceparent} must not use {@code tracestate}). Sampled, because an
 * application's default sampler (OpenTelemetry's parent-based, always-on root) then records what
 * it would have recorded had the request come without a {@code traceparent}; unsampled would
 * silently turn its tracing off behind Sluice.
 */
public final class TraceParent {
    public static final AsciiString TRACEPARENT = AsciiString.cached("traceparent");
    public static final AsciiString TRACESTATE = AsciiString.cached("tracestate");
    /** {@code 00-} 32 hex {@code -} 16 hex {@code -} 2 hex. */
    static final int VERSION_00_LENGTH = 55;
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private TraceParent() {}

    /** Whether {@code value} is a traceparent Sluice keeps (see {@link #valid(byte[], int, int)}). */
    public static boolean valid(CharSequence value) {
        int n = value.length();
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            b[i] = c > 0xff ? 0 : (byte) c;
        }
        return valid(b, 0, n);
    }

    /**
     * Whether {@code h[start, end)} is a valid traceparent (§3.2.2): version, trace-id,
     * parent-id and flags in lower-case hex; version {@code ff} is invalid; trace-id and parent-id
     * not all zeros; version {@code 00} exactly 55 characters; a later version at least that, and
     * a {@code -} after the flags if longer (its fields past them are kept, not read).
     */
    public static boolean valid(byte[] h, int start, int end) {
        int n = end - start;
        if (n < VERSION_00_LENGTH || !hex(h, start, 2) || (h[start] == 'f' && h[start + 1] == 'f')) {
            return false;
        }
        boolean version00 = h[start] == '0' && h[start + 1] == '0';
        if (version00 ? n != VERSION_00_LENGTH : n > VERSION_00_LENGTH && h[start + VERSION_00_LENGTH] != '-') {
            return false;
        }
        return h[start + 2] == '-' && hex(h, start + 3, 32) && !zeros(h, start + 3, 32)
                && h[start + 35] == '-' && hex(h, start + 36, 16) && !zeros(h, start + 36, 16)
                && h[start + 52] == '-' && hex(h, start + 53, 2);
    }

    private static boolean hex(byte[] h, int from, int count) {
        for (int i = from; i < from + count; i++) {
            byte b = h[i];
            if (!(b >= '0' && b <= '9' || b >= 'a' && b <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean zeros(byte[] h, int from, int count) {
        for (int i = from; i < from + count; i++) {
            if (h[i] != '0') {
                return false;
            }
        }
        return true;
    }

    /** A new trace: {@code 00-<random trace-id>-<random parent-id>-01}. */
    public static String start() {
        return start(ThreadLocalRandom.current());
    }

    public static String start(RandomGenerator random) {
        byte[] out = new byte[VERSION_00_LENGTH];
        out[0] = '0';
        out[1] = '0';
        out[2] = '-';
        long high;
        long low;
        do {
            high = random.nextLong();
            low = random.nextLong();
        } while (high == 0 && low == 0);
        hex(high, out, 3);
        hex(low, out, 19);
        out[35] = '-';
        long parent;
        do {
            parent = random.nextLong();
        } while (parent == 0);
        hex(parent, out, 36);
        out[52] = '-';
        out[53] = '0';
        out[54] = '1';
        return new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static void hex(long v, byte[] out, int at) {
        for (int i = 15; i >= 0; i--) {
            out[at + i] = HEX[(int) (v & 0xf)];
            v >>>= 4;
        }
    }

    /**
     * The traceparent {@code headers} go on with: their one valid one, kept with its
     * {@code tracestate}; or, when there is none, several, or an invalid one, a new one set in
     * their place ({@code tracestate} removed). Says which in {@link Kept#started()}.
     */
    public static Kept ensure(HttpHeaders headers) {
        List<String> values = headers.getAll(TRACEPARENT);
        if (values.size() == 1 && valid(values.get(0))) {
            return new Kept(values.get(0), false);
        }
        String fresh = start();
        headers.set(TRACEPARENT, fresh);
        headers.remove(TRACESTATE);
        return new Kept(fresh, true);
    }

    /** @param started whether Sluice started it (else the client sent it) */
    public record Kept(String value, boolean started) {}
}
