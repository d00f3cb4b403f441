package dev.sluice.record;

import com.fasterxml.jackson.core.io.CharTypes;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Encodes a {@link RecordedExchange} as one line: a HAR 1.2 entry as JSON, then a newline (the
 * format of docs/recording.md, {@link HarLines}), into a buffer of its own that the recorder hands
 * to the file. The field lines are parsed here, and the route's redacted fields left out here, so
 * their values never reach the buffer. One per writer thread: it reuses its buffer, digest and
 * decoder.
 *
 * <p>The entry's shape is fixed, so it is written as a template: its keys and constant parts are
 * bytes made once, and only the values are encoded. Which characters a JSON string escapes, and
 * how, is Jackson's ({@link CharTypes#get7BitOutputEscapes()}, and {@link JsonStringEncoder} for
 * text beyond ASCII); the loop here only copies the bytes that need none. Measured on one core
 * with {@code bench/run --mode record}, Jackson's streaming generator, a call per token, was more
 * than half of what recording cost the proxy (docs/performance.md); this writes the same entry in
 * about a quarter of the time ({@code bench/jmh HarEntry}).
 */
final class HarEntryEncoder {
    private static final int[] ESCAPES = CharTypes.get7BitOutputEscapes();
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    /** Jackson writes an escape's hex digits in upper case ({@code \\u001B}); the same here, so lines read alike. */
    private static final byte[] ESCAPE_HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final String CONTENT_TYPE = "content-type";

    // The template's constant parts, in the order they are written.
    private static final byte[] STARTED = ascii("{\"startedDateTime\":\"");
    private static final byte[] TIME = ascii("\",\"time\":");
    private static final byte[] METHOD = ascii(",\"request\":{\"method\":");
    private static final byte[] URL = ascii(",\"url\":");
    private static final byte[] HTTP_VERSION = ascii(",\"httpVersion\":");
    private static final byte[] HEADERS = ascii(",\"headers\":[");
    private static final byte[] NAME = ascii("{\"name\":");
    private static final byte[] VALUE = ascii(",\"value\":");
    private static final byte[] QUERY_STRING = ascii("],\"queryString\":[");
    private static final byte[] REQUEST_SIZES = ascii("],\"cookies\":[],\"headersSize\":-1,\"bodySize\":");
    private static final byte[] POST_DATA = ascii(",\"postData\":{\"mimeType\":");
    private static final byte[] TEXT = ascii(",\"text\":");
    private static final byte[] BASE64 = ascii(",\"encoding\":\"base64\"");
    private static final byte[] STATUS = ascii("},\"response\":{\"status\":");
    private static final byte[] STATUS_TEXT = ascii(",\"statusText\":");
    private static final byte[] RESPONSE_VERSION = ascii(",\"httpVersion\":\"HTTP/1.1\",\"headers\":[");
    private static final byte[] CONTENT_SIZE = ascii("],\"cookies\":[],\"content\":{\"size\":");
    private static final byte[] MIME_TYPE = ascii(",\"mimeType\":");
    private static final byte[] RESPONSE_SIZES = ascii("},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":");
    private static final byte[] SEND = ascii("},\"cache\":{},\"timings\":{\"send\":");
    private static final byte[] WAIT = ascii(",\"wait\":");
    private static final byte[] RECEIVE = ascii(",\"receive\":");
    private static final byte[] ROUTE = ascii("},\"_route\":");
    private static final byte[] SHA256 = ascii(",\"_responseBodySha256\":\"");
    private static final byte[] REQUEST_TRUNCATED = ascii(",\"_requestBodyTruncated\":");
    private static final byte[] RESPONSE_TRUNCATED = ascii(",\"_responseBodyTruncated\":");
    private static final byte[] REDACTED = ascii(",\"_redacted\":[");
    private static final byte[] FAILURE = ascii(",\"_failure\":");
    private static final byte[] TRUE = ascii("true");
    private static final byte[] FALSE = ascii("false");

    private final MessageDigest sha256;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    /** Where a body's text is decoded to, only to learn whether it is UTF-8 (the bytes themselves are written). */
    private CharBuffer decoded = CharBuffer.allocate(1024);
    /** The line being written: {@code out[0, size)}. */
    private byte[] out = new byte[8 * 1024];
    private int size;
    /** {@code startedDateTime}: the text up to the second is made once a second, the milliseconds written in. */
    private final byte[] date = new byte[40];
    private int dateLength;
    private long dateSecond = Long.MIN_VALUE;
    /** The redacted names of the entry being written: which of the route's {@code redact} list turned up. */
    private boolean[] redactedSeen = new boolean[4];
    private List<String> redact = List.of();
    private List<String> redactSorted = List.of();

    HarEntryEncoder() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** The line last {@link #encode}d: {@code bytes()[0, size())}, newline included; valid until the next. */
    byte[] bytes() {
        return out;
    }

    int size() {
        return size;
    }

    /** Encodes {@code e} as one JSON object and a newline, leaving out the fields named in {@code redact} (lower case). */
    void encode(RecordedExchange e, List<String> redact) {
        redactions(redact);
        size = 0;
        raw(STARTED);
        date(e.startedEpochMillis());
        raw(TIME);
        millis(e.timeNanos());

        raw(METHOD);
        string(e.method());
        String url = HarLines.absoluteUrl(e.secure(), e.host(), e.target());
        raw(URL);
        string(url);
        raw(HTTP_VERSION);
        string(e.httpVersion());
        fields(e.requestFields());
        raw(QUERY_STRING);
        if (url.indexOf('?') >= 0) {
            boolean first = true;
            for (Map.Entry<String, String> q : HarLines.query(url)) {
                if (!first) {
                    raw((byte) ',');
                }
                first = false;
                raw(NAME);
                string(q.getKey());
                raw(VALUE);
                string(q.getValue());
                raw((byte) '}');
            }
        }
        raw(REQUEST_SIZES);
        number(e.requestBodySize());
        if (e.requestBodySize() > 0) {
            raw(POST_DATA);
            contentType(e.requestFields());
            raw(TEXT);
            body(e.requestBody(), e.requestBodyKept());
            raw((byte) '}');
        }

        raw(STATUS);
        number(e.status());
        raw(STATUS_TEXT);
        string(e.statusText());
        raw(RESPONSE_VERSION);
        headerList(e.responseFields());
        raw(CONTENT_SIZE);
        number(Math.max(e.responseBodySize(), 0));
        raw(MIME_TYPE);
        contentType(e.responseFields());
        raw(RESPONSE_SIZES);
        number(e.responseBodySize());

        raw(SEND);
        millis(e.sendNanos());
        raw(WAIT);
        millis(e.waitNanos());
        raw(RECEIVE);
        millis(e.receiveNanos());

        raw(ROUTE);
        string(e.route());
        if (e.responded()) {
            raw(SHA256);
            sha256(e);
            raw((byte) '"');
        }
        raw(REQUEST_TRUNCATED);
        raw(e.requestBodySize() > e.requestBodyKept() ? TRUE : FALSE);
        raw(RESPONSE_TRUNCATED);
        raw(e.responseBodyTruncated() ? TRUE : FALSE);
        raw(REDACTED);
        boolean first = true;
        for (String redacted : redactSorted) {
            if (redactedSeen[redact.indexOf(redacted)]) {
                if (!first) {
                    raw((byte) ',');
                }
                first = false;
                string(redacted);
            }
        }
        raw((byte) ']');
        if (e.failure() != null) {
            raw(FAILURE);
            string(e.failure());
        }
        raw((byte) '}');
        raw((byte) '\n');
    }

    /** Takes up the route's {@code redact} list (the same list object from entry to entry, until a reload). */
    private void redactions(List<String> names) {
        if (names != redact) {
            redact = names;
            redactSorted = names.stream().sorted().toList();
            redactedSeen = new boolean[names.size()];
        } else {
            Arrays.fill(redactedSeen, false);
        }
    }

    /** The request's {@code "headers":[...]}. */
    private void fields(byte[] lines) {
        raw(HEADERS);
        headerList(lines);
    }

    /** HAR's headers, up to the closing bracket: each line's name and value, but for the redacted names (noted, never written). */
    private void headerList(byte[] lines) {
        boolean first = true;
        for (int line = 0; line < lines.length; ) {
            int end = lineEnd(lines, line);
            int colon = indexOf(lines, line, end, (byte) ':');
            if (colon > line) {
                int redacted = redactedIndex(lines, line, colon);
                if (redacted >= 0) {
                    redactedSeen[redacted] = true;
                } else {
                    if (!first) {
                        raw((byte) ',');
                    }
                    first = false;
                    int valueStart = valueStart(lines, colon + 1, end);
                    raw(NAME);
                    latin1(lines, line, colon);
                    raw(VALUE);
                    latin1(lines, valueStart, valueEnd(lines, valueStart, end));
                    raw((byte) '}');
                }
            }
            line = end + 2;
        }
    }

    /** The index in the route's {@code redact} list of the name {@code lines[start, end)}, in any case; -1 when it is not there. */
    private int redactedIndex(byte[] lines, int start, int end) {
        for (int i = 0; i < redact.size(); i++) {
            if (named(lines, start, end, redact.get(i))) {
                return i;
            }
        }
        return -1;
    }

    private static boolean named(byte[] a, int start, int end, CharSequence lowerName) {
        if (end - start != lowerName.length()) {
            return false;
        }
        for (int i = 0; i < lowerName.length(); i++) {
            int b = a[start + i];
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != lowerName.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The first {@code Content-Type} value of the lines, or {@code ""}: HAR's {@code mimeType}. */
    private void contentType(byte[] lines) {
        for (int line = 0; line < lines.length; ) {
            int end = lineEnd(lines, line);
            int colon = line + CONTENT_TYPE.length();
            if (colon < end && lines[colon] == ':' && named(lines, line, colon, CONTENT_TYPE)) {
                int valueStart = valueStart(lines, colon + 1, end);
                latin1(lines, valueStart, valueEnd(lines, valueStart, end));
                return;
            }
            line = end + 2;
        }
        raw((byte) '"');
        raw((byte) '"');
    }

    /** {@code postData}'s text: the bytes as text when they are valid UTF-8, else base64. */
    private void body(byte[] body, int length) {
        if (utf8(body, length)) {
            quoted(body, 0, length, false);
            return;
        }
        byte[] base64 = Base64.getEncoder().encode(Arrays.copyOf(body, length));
        raw((byte) '"');
        raw(base64);
        raw((byte) '"');
        raw(BASE64);
    }

    /** Whether {@code body[0, length)} is valid UTF-8 (decoded to learn it; the bytes are what is written). */
    private boolean utf8(byte[] body, int length) {
        if (decoded.capacity() < length) {
            decoded = CharBuffer.allocate(length);
        }
        utf8.reset();
        decoded.clear();
        ByteBuffer in = ByteBuffer.wrap(body, 0, length);
        CoderResult result = utf8.decode(in, decoded, true);
        return !result.isError() && !in.hasRemaining() && !utf8.flush(decoded).isError();
    }

    /**
     * {@code a[start, end)} as a JSON string, each byte one char (ISO-8859-1, as Sluice reads field
     * values): one byte of UTF-8 for ASCII, two for the rest.
     */
    private void latin1(byte[] a, int start, int end) {
        quoted(a, start, end, true);
    }

    /**
     * {@code a[start, end)} as a JSON string: ASCII escaped as Jackson escapes it; the other bytes
     * are UTF-8 already ({@code latin1} false) or ISO-8859-1 chars made UTF-8 here.
     */
    private void quoted(byte[] a, int start, int end, boolean latin1) {
        ensure(2 + 6 * (end - start));
        byte[] o = out;
        int n = size;
        o[n++] = '"';
        for (int i = start; i < end; i++) {
            int b = a[i];
            if (b >= 0) {
                int escape = ESCAPES[b];
                if (escape == 0) {
                    o[n++] = (byte) b;
                } else {
                    n = escape(o, n, b, escape);
                }
            } else if (latin1) {
                b &= 0xff;
                o[n++] = (byte) (0xc0 | (b >> 6));
                o[n++] = (byte) (0x80 | (b & 0x3f));
            } else {
                o[n++] = (byte) b;
            }
        }
        o[n++] = '"';
        size = n;
    }

    /** A String as a JSON string: ASCII here, anything else through Jackson's encoder. */
    private void string(String s) {
        int length = s.length();
        ensure(2 + 6 * length);
        byte[] o = out;
        int n = size;
        o[n++] = '"';
        for (int i = 0; i < length; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                size = n;
                raw(JsonStringEncoder.getInstance().quoteAsUTF8(s.substring(i)));
                raw((byte) '"');
                return;
            }
            int escape = ESCAPES[c];
            if (escape == 0) {
                o[n++] = (byte) c;
            } else {
                n = escape(o, n, c, escape);
            }
        }
        o[n++] = '"';
        size = n;
    }

    /** The escape of ASCII {@code c}: Jackson's table gives its short form (backslash n) or -1 for the six-character one (backslash u00XX). */
    private static int escape(byte[] o, int n, int c, int escape) {
        o[n++] = '\\';
        if (escape > 0) {
            o[n++] = (byte) escape;
        } else {
            o[n++] = 'u';
            o[n++] = '0';
            o[n++] = '0';
            o[n++] = ESCAPE_HEX[c >> 4];
            o[n++] = ESCAPE_HEX[c & 0xf];
        }
        return n;
    }

    private void sha256(RecordedExchange e) {
        byte[] digest = e.responseBodySha256();
        if (digest == null) {
            if (e.responseBody() != null) {
                sha256.update(e.responseBody(), 0, e.responseBodyKept());
            }
            digest = sha256.digest();
        }
        ensure(2 * digest.length);
        for (byte b : digest) {
            out[size++] = HEX[(b >> 4) & 0xf];
            out[size++] = HEX[b & 0xf];
        }
    }

    /** ISO 8601 in UTC to the millisecond ({@code 2026-12-05T02:41:07.123Z}), as {@code Instant} prints it. */
    private void date(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != dateSecond) {
            String text = Instant.ofEpochSecond(second).toString(); // ...:07Z: no fraction for a whole second
            dateLength = text.length() - 1;
            text.getBytes(0, dateLength, date, 0);
            dateSecond = second;
        }
        int ms = (int) Math.floorMod(epochMillis, 1000);
        int n = dateLength;
        date[n++] = '.';
        date[n++] = (byte) ('0' + ms / 100);
        date[n++] = (byte) ('0' + ms / 10 % 10);
        date[n++] = (byte) ('0' + ms % 10);
        date[n++] = 'Z';
        ensure(n);
        System.arraycopy(date, 0, out, size, n);
        size += n;
    }

    /**
     * Milliseconds to the microsecond (HAR's times are decimals, and more digits are noise), as
     * {@code Double.toString} writes them ({@code 12.406}, {@code 5.0}) without its cost.
     */
    private void millis(long nanos) {
        long micros = (Math.max(nanos, 0) + 500) / 1000;
        number(micros / 1000);
        ensure(4);
        out[size++] = '.';
        int fraction = (int) (micros % 1000);
        out[size++] = (byte) ('0' + fraction / 100);
        if (fraction % 100 != 0) {
            out[size++] = (byte) ('0' + fraction / 10 % 10);
            if (fraction % 10 != 0) {
                out[size++] = (byte) ('0' + fraction % 10);
            }
        }
    }

    /** A whole number in decimal. */
    private void number(long value) {
        ensure(20);
        if (value < 0) {
            if (value == Long.MIN_VALUE) {
                raw(ascii(Long.toString(value)));
                return;
            }
            out[size++] = '-';
            value = -value;
        }
        int digits = 1;
        for (long v = value; v >= 10; v /= 10) {
            digits++;
        }
        int n = size + digits;
        for (int i = n - 1; i >= size; i--) {
            out[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        size = n;
    }

    private void raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, out, size, bytes.length);
        size += bytes.length;
    }

    private void raw(byte b) {
        ensure(1);
        out[size++] = b;
    }

    private void ensure(int more) {
        if (size + more > out.length) {
            out = Arrays.copyOf(out, Math.max(size + more, out.length * 2));
        }
    }

    /** Where the line at {@code from} ends (its CR; a field value never holds one), or the array's end. */
    private static int lineEnd(byte[] a, int from) {
        int i = from;
        while (i < a.length && a[i] != '\r') {
            i++;
        }
        return i;
    }

    private static int indexOf(byte[] a, int from, int to, byte b) {
        for (int i = from; i < to; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static int valueStart(byte[] a, int from, int end) {
        int i = from;
        while (i < end && (a[i] == ' ' || a[i] == '\t')) {
            i++;
        }
        return i;
    }

    private static int valueEnd(byte[] a, int start, int end) {
        int i = end;
        while (i > start && (a[i - 1] == ' ' || a[i - 1] == '\t')) {
            i--;
        }
        return i;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
