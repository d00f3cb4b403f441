package dev.sluice.http;

import io.netty.util.AsciiString;
import java.util.Arrays;
import java.util.List;

/**
 * Field names seen in most requests and responses, shared instead of made per field. A name is
 * shared only when its bytes match one of the stored spellings exactly (lower case, or each word
 * capitalised as most software writes it): forwarded names keep the spelling they came with.
 */
public final class FieldNames {
    /** The fields a proxy sets on the way in: the decoders note them, the gateway writes them. */
    public static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    public static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    public static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
    public static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    /** Makes a non-idempotent request safe to retry (draft-ietf-httpapi-idempotency-key-header). */
    public static final AsciiString IDEMPOTENCY_KEY = AsciiString.cached("idempotency-key");
    private static final AsciiString[][] BY_LENGTH = new AsciiString[40][];

    static {
        List<String> names = List.of("content-length", "content-type", "date", "server", "connection", "keep-alive",
                "transfer-encoding", "cache-control", "etag", "last-modified", "expires", "vary", "set-cookie", "location",
                "content-encoding", "accept-ranges", "age", "via", "retry-after", "pragma", "content-security-policy",
                "strict-transport-security", "x-frame-options", "x-content-type-options", "access-control-allow-origin",
                "content-disposition", "content-language", "upgrade", "trailer", "www-authenticate", "link",
                "x-request-id", "host", "user-agent", "accept", "accept-encoding", "accept-language", "cookie",
                "authorization", "referer", "origin", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                "if-none-match", "if-modified-since", "te", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest",
                "upgrade-insecure-requests", "dnt");
        for (String name : names) {
            add(AsciiString.cached(name));
            add(AsciiString.cached(capitalised(name)));
        }
    }

    private FieldNames() {}

    private static void add(AsciiString name) {
        AsciiString[] same = BY_LENGTH[name.length()];
        AsciiString[] grown = same == null ? new AsciiString[1] : Arrays.copyOf(same, same.length + 1);
        grown[grown.length - 1] = name;
        BY_LENGTH[name.length()] = grown;
    }

    private static String capitalised(String name) {
        char[] c = name.toCharArray();
        for (int i = 0; i < c.length; i++) {
            if (i == 0 || c[i - 1] == '-') {
                c[i] = Character.toUpperCase(c[i]);
            }
        }
        return new String(c);
    }

    /**
     * The name in {@code h[start, end)}: a shared constant when one is spelled exactly so, else a
     * view of {@code h} (which must not change afterwards).
     */
    public static AsciiString name(byte[] h, int start, int end) {
        int length = end - start;
        AsciiString[] candidates = length < BY_LENGTH.length ? BY_LENGTH[length] : null;
        if (candidates != null) {
            outer:
            for (AsciiString candidate : candidates) {
                byte[] spelled = candidate.array();
                int offset = candidate.arrayOffset();
                for (int i = 0; i < length; i++) {
                    if (h[start + i] != spelled[offset + i]) {
                        continue outer;
                    }
                }
                return candidate;
            }
        }
        return new AsciiString(h, start, length, false);
    }

    /** Whether {@code h[start, end)} spells {@code lowerCase} in any case. */
    public static boolean spells(byte[] h, int start, int end, AsciiString lowerCase) {
        if (end - start != lowerCase.length()) {
            return false;
        }
        byte[] a = lowerCase.array();
        int offset = lowerCase.arrayOffset();
        for (int i = start; i < end; i++) {
            byte b = h[i];
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != a[offset + i - start]) {
                return false;
            }
        }
        return true;
    }
}
