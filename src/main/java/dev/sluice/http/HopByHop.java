package dev.sluice.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.util.AsciiString;
import java.util.List;

/**
 * The fields meaningful only for one connection, never forwarded in either direction (RFC 9110
 * §7.6.1), as names and as bytes: the server's header policy removes them from header maps, and
 * {@link ReceivedResponse} leaves their lines out of a head it forwards as it came.
 */
public final class HopByHop {
    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final AsciiString HTTP2_SETTINGS = AsciiString.cached("http2-settings");

    private static final List<AsciiString> NAMES = List.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, PROXY_CONNECTION, HttpHeaderNames.TE,
            HttpHeaderNames.UPGRADE, HttpHeaderNames.PROXY_AUTHENTICATE, HTTP2_SETTINGS);
    /** Bit n set when some hop-by-hop name is n bytes long: most names are ruled out by length alone. */
    private static final long LENGTHS = NAMES.stream().mapToLong(n -> 1L << n.length()).reduce(0, (a, b) -> a | b);

    private HopByHop() {}

    public static boolean is(CharSequence name) {
        int length = name.length();
        if (!possibleLength(length)) {
            return false;
        }
        for (AsciiString hop : NAMES) {
            if (hop.length() == length && hop.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the name in {@code h[start, end)} is hop-by-hop. */
    public static boolean is(byte[] h, int start, int end) {
        if (!possibleLength(end - start)) {
            return false;
        }
        for (AsciiString hop : NAMES) {
            if (FieldNames.spells(h, start, end, hop)) {
                return true;
            }
        }
        return false;
    }

    private static boolean possibleLength(int length) {
        return length < Long.SIZE && (LENGTHS & (1L << length)) != 0;
    }

    /** {@link #connectionTokens}: {@code close} was listed. */
    public static final int CLOSE = 1;
    /** {@link #connectionTokens}: {@code keep-alive} was listed. */
    public static final int KEEP_ALIVE = 2;
    /** {@link #connectionTokens}: some other token (a field name) was listed. */
    public static final int OTHER = 4;

    /** Which tokens a {@code Connection} value lists: {@link #CLOSE}, {@link #KEEP_ALIVE}, {@link #OTHER}, or'ed. */
    public static int connectionTokens(byte[] h, int start, int end) {
        int found = 0;
        int from = start;
        while (from <= end) {
            int comma = from;
            while (comma < end && h[comma] != ',') {
                comma++;
            }
            int tokenStart = FieldSyntax.valueStart(h, from, comma);
            int tokenEnd = FieldSyntax.valueEnd(h, tokenStart, comma);
            if (tokenEnd > tokenStart) {
                if (FieldNames.spells(h, tokenStart, tokenEnd, HttpHeaderValues.CLOSE)) {
                    found |= CLOSE;
                } else if (FieldNames.spells(h, tokenStart, tokenEnd, HttpHeaderValues.KEEP_ALIVE)) {
                    found |= KEEP_ALIVE;
                } else {
                    found |= OTHER;
                }
            }
            from = comma + 1;
        }
        return found;
    }
}
