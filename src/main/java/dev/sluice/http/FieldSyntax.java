package dev.sluice.http;

/** The bytes a header field may hold (RFC 9110 §5.1, §5.5), for the decoders of both directions. */
public final class FieldSyntax {
    /** RFC 9110 §5.6.2 tchar: what a field name is made of. */
    private static final boolean[] TOKEN = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    private FieldSyntax() {}

    public static boolean isTokenChar(byte b) {
        return TOKEN[b & 0xff];
    }

    /** Whether {@code text} is a token: an HTTP method or a field name (config checks names with it). */
    public static boolean isToken(String text) {
        if (text.isEmpty()) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c > 0xff || !TOKEN[c]) {
                return false;
            }
        }
        return true;
    }

    /** Field content: visible characters, SP, HTAB and obs-text; no other control character, and no DEL. */
    public static boolean isFieldContent(byte b) {
        int c = b & 0xff;
        return c >= 0x20 && c != 0x7f || c == '\t';
    }

    /** Where a field value starts: after the optional whitespace that follows the colon ({@code from}). */
    public static int valueStart(byte[] h, int from, int end) {
        int i = from;
        while (i < end && (h[i] == ' ' || h[i] == '\t')) {
            i++;
        }
        return i;
    }

    /** Where a field value ends: before the optional whitespace at the end of its line ({@code end}). */
    public static int valueEnd(byte[] h, int start, int end) {
        int i = end;
        while (i > start && (h[i - 1] == ' ' || h[i - 1] == '\t')) {
            i--;
        }
        return i;
    }
}
