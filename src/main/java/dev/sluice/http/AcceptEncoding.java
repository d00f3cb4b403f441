package dev.sluice.http;

/**
 * Reads a request's {@code Accept-Encoding} (RFC 9110 §12.5.3): how much the client wants a
 * content coding, as a q-value in thousandths (0 to 1000). A coding the field does not name gets
 * the q-value of {@code *}, else 0; {@code q=0} means "not acceptable"; names ignore case, and
 * {@code x-gzip} is gzip (RFC 9110 §8.4.1.3). An element whose q-value cannot be read is ignored.
 */
public final class AcceptEncoding {
    public static final int NOT_ACCEPTABLE = 0;
    private static final int UNNAMED = -1;

    private AcceptEncoding() {}

    /** The q-value (0 to 1000) the field {@code accept} gives {@code coding} (a lower-case token). */
    public static int quality(CharSequence accept, String coding) {
        int named = UNNAMED;
        int star = UNNAMED;
        int n = accept.length();
        int i = 0;
        while (i < n) {
            int end = indexOf(accept, ',', i, n);
            int semicolon = indexOf(accept, ';', i, end);
            int nameStart = skipSpace(accept, i, semicolon);
            int nameEnd = trimEnd(accept, nameStart, semicolon);
            if (nameEnd > nameStart) {
                int q = semicolon < end ? qvalue(accept, semicolon + 1, end) : 1000;
                if (q >= 0) {
                    if (nameEnd - nameStart == 1 && accept.charAt(nameStart) == '*') {
                        star = Math.max(star, q);
                    } else if (names(accept, nameStart, nameEnd, coding)
                            || coding.equals("gzip") && names(accept, nameStart, nameEnd, "x-gzip")) {
                        named = Math.max(named, q);
                    }
                }
            }
            i = end + 1;
        }
        if (named != UNNAMED) {
            return named;
        }
        return star != UNNAMED ? star : NOT_ACCEPTABLE;
    }

    /** The q-value in the parameters {@code [from, end)} ({@code q=0.5}), 1000 when none is given, -1 when unreadable. */
    private static int qvalue(CharSequence s, int from, int end) {
        int i = from;
        while (i < end) {
            int paramEnd = indexOf(s, ';', i, end);
            int start = skipSpace(s, i, paramEnd);
            int stop = trimEnd(s, start, paramEnd);
            if (stop - start >= 2 && (s.charAt(start) == 'q' || s.charAt(start) == 'Q') && s.charAt(start + 1) == '=') {
                return weight(s, start + 2, stop);
            }
            i = paramEnd + 1;
        }
        return 1000;
    }

    /** RFC 9110 §12.4.2: {@code ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )}, in thousandths; -1 if not one. */
    private static int weight(CharSequence s, int start, int end) {
        if (start == end || end - start > 5) {
            return -1;
        }
        char first = s.charAt(start);
        if (first != '0' && first != '1') {
            return -1;
        }
        if (end - start > 1 && s.charAt(start + 1) != '.') {
            return -1;
        }
        int value = (first - '0') * 1000;
        int scale = 100;
        for (int i = start + 2; i < end; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value += (c - '0') * scale;
            scale /= 10;
        }
        return value > 1000 ? -1 : value;
    }

    private static boolean names(CharSequence s, int start, int end, String coding) {
        if (end - start != coding.length()) {
            return false;
        }
        for (int i = 0; i < coding.length(); i++) {
            char c = s.charAt(start + i);
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != coding.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(CharSequence s, char c, int from, int end) {
        for (int i = from; i < end; i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return end;
    }

    private static int skipSpace(CharSequence s, int from, int end) {
        int i = from;
        while (i < end && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
            i++;
        }
        return i;
    }

    private static int trimEnd(CharSequence s, int start, int end) {
        int i = end;
        while (i > start && (s.charAt(i - 1) == ' ' || s.charAt(i - 1) == '\t')) {
            i--;
        }
        return i;
    }
}
