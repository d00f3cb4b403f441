package dev.sluice.record;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Encodes a {@link RecordedExchange} as one HAR 1.2 entry (the format of docs/recording.md,
 * {@link HarLines}) straight onto a streaming generator: no tree, no map, no intermediate line.
 * The field lines are parsed here, and the route's redacted fields left out here, so their values
 * never reach the generator. One per writer thread: it reuses its digest and its scratch.
 */
final class HarEntryEncoder {
    // Field names encoded once (Jackson copies their bytes instead of escaping them each time).
    private static final SerializableString COOKIES = name("cookies");
    private static final SerializableString HEADERS_SIZE = name("headersSize");
    private static final SerializableString REDIRECT_URL = name("redirectURL");
    private static final SerializableString CACHE = name("cache");
    private static final SerializableString STARTED = name("startedDateTime");
    private static final SerializableString TIME = name("time");
    private static final SerializableString REQUEST = name("request");
    private static final SerializableString RESPONSE = name("response");
    private static final SerializableString METHOD = name("method");
    private static final SerializableString URL = name("url");
    private static final SerializableString HTTP_VERSION = name("httpVersion");
    private static final SerializableString HEADERS = name("headers");
    private static final SerializableString QUERY_STRING = name("queryString");
    private static final SerializableString BODY_SIZE = name("bodySize");
    private static final SerializableString POST_DATA = name("postData");
    private static final SerializableString MIME_TYPE = name("mimeType");
    private static final SerializableString TEXT = name("text");
    private static final SerializableString ENCODING = name("encoding");
    private static final SerializableString STATUS = name("status");
    private static final SerializableString STATUS_TEXT = name("statusText");
    private static final SerializableString CONTENT = name("content");
    private static final SerializableString SIZE = name("size");
    private static final SerializableString TIMINGS = name("timings");
    private static final SerializableString SEND = name("send");
    private static final SerializableString WAIT = name("wait");
    private static final SerializableString RECEIVE = name("receive");
    private static final SerializableString NAME = name("name");
    private static final SerializableString VALUE = name("value");
    private static final SerializableString ROUTE = name("_route");
    private static final SerializableString SHA256 = name("_responseBodySha256");
    private static final SerializableString REQUEST_TRUNCATED = name("_requestBodyTruncated");
    private static final SerializableString RESPONSE_TRUNCATED = name("_responseBodyTruncated");
    private static final SerializableString REDACTED = name("_redacted");
    private static final SerializableString FAILURE = name("_failure");
    private static final String CONTENT_TYPE = "content-type";
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final MessageDigest sha256;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final char[] hex = new char[64];
    private final char[] number = new char[24];
    /** {@code startedDateTime}: the text up to the second is made once a second, the milliseconds written in. */
    private final char[] date = new char[40];
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

    /** Writes {@code e} as one JSON object, leaving out the fields named in {@code redact} (lower case). */
    void write(JsonGenerator g, RecordedExchange e, List<String> redact) throws IOException {
        redactions(redact);
        g.writeStartObject();
        g.writeFieldName(STARTED);
        writeDate(g, e.startedEpochMillis());
        g.writeFieldName(TIME);
        writeMillis(g, e.timeNanos());

        g.writeFieldName(REQUEST);
        g.writeStartObject();
        g.writeFieldName(METHOD);
        g.writeString(e.method());
        String url = HarLines.absoluteUrl(e.secure(), e.host(), e.target());
        g.writeFieldName(URL);
        g.writeString(url);
        g.writeFieldName(HTTP_VERSION);
        g.writeString(e.httpVersion());
        fields(g, e.requestFields());
        g.writeFieldName(QUERY_STRING);
        g.writeStartArray();
        if (url.indexOf('?') >= 0) {
            for (Map.Entry<String, String> q : HarLines.query(url)) {
                g.writeStartObject();
                g.writeFieldName(NAME);
                g.writeString(q.getKey());
                g.writeFieldName(VALUE);
                g.writeString(q.getValue());
                g.writeEndObject();
            }
        }
        g.writeEndArray();
        g.writeFieldName(COOKIES);
        g.writeStartArray();
        g.writeEndArray();
        g.writeFieldName(HEADERS_SIZE);
        g.writeNumber(-1);
        g.writeFieldName(BODY_SIZE);
        g.writeNumber(e.requestBodySize());
        if (e.requestBodySize() > 0) {
            g.writeFieldName(POST_DATA);
            g.writeStartObject();
            g.writeFieldName(MIME_TYPE);
            contentType(g, e.requestFields());
            body(g, e.requestBody(), e.requestBodyKept());
            g.writeEndObject();
        }
        g.writeEndObject();

        g.writeFieldName(RESPONSE);
        g.writeStartObject();
        g.writeFieldName(STATUS);
        g.writeNumber(e.status());
        g.writeFieldName(STATUS_TEXT);
        g.writeString(e.statusText());
        g.writeFieldName(HTTP_VERSION);
        g.writeString("HTTP/1.1");
        fields(g, e.responseFields());
        g.writeFieldName(COOKIES);
        g.writeStartArray();
        g.writeEndArray();
        g.writeFieldName(CONTENT);
        g.writeStartObject();
        g.writeFieldName(SIZE);
        g.writeNumber(Math.max(e.responseBodySize(), 0));
        g.writeFieldName(MIME_TYPE);
        contentType(g, e.responseFields());
        g.writeEndObject();
        g.writeFieldName(REDIRECT_URL);
        g.writeString("");
        g.writeFieldName(HEADERS_SIZE);
        g.writeNumber(-1);
        g.writeFieldName(BODY_SIZE);
        g.writeNumber(e.responseBodySize());
        g.writeEndObject();

        g.writeFieldName(CACHE);
        g.writeStartObject();
        g.writeEndObject();
        g.writeFieldName(TIMINGS);
        g.writeStartObject();
        g.writeFieldName(SEND);
        writeMillis(g, e.sendNanos());
        g.writeFieldName(WAIT);
        writeMillis(g, e.waitNanos());
        g.writeFieldName(RECEIVE);
        writeMillis(g, e.receiveNanos());
        g.writeEndObject();

        g.writeFieldName(ROUTE);
        g.writeString(e.route());
        if (e.responded()) {
            g.writeFieldName(SHA256);
            writeSha256(g, e);
        }
        g.writeFieldName(REQUEST_TRUNCATED);
        g.writeBoolean(e.requestBodySize() > e.requestBodyKept());
        g.writeFieldName(RESPONSE_TRUNCATED);
        g.writeBoolean(e.responseBodyTruncated());
        g.writeFieldName(REDACTED);
        g.writeStartArray();
        for (String redacted : redactSorted) {
            if (redactedSeen[redact.indexOf(redacted)]) {
                g.writeString(redacted);
            }
        }
        g.writeEndArray();
        if (e.failure() != null) {
            g.writeFieldName(FAILURE);
            g.writeString(e.failure());
        }
        g.writeEndObject();
    }

    /** Takes up the route's {@code redact} list (the same list object from entry to entry, until a reload). */
    private void redactions(List<String> names) {
        if (names != redact) {
            redact = names;
            redactSorted = names.stream().sorted().toList();
            redactedSeen = new boolean[names.size()];
        } else {
            java.util.Arrays.fill(redactedSeen, false);
        }
    }

    /** HAR's {@code headers}: each line's name and value, but for the redacted names (noted, never written). */
    private void fields(JsonGenerator g, byte[] lines) throws IOException {
        g.writeFieldName(HEADERS);
        g.writeStartArray();
        for (int line = 0; line < lines.length; ) {
            int end = lineEnd(lines, line);
            int colon = indexOf(lines, line, end, (byte) ':');
            if (colon > line) {
                int redacted = redactedIndex(lines, line, colon);
                if (redacted >= 0) {
                    redactedSeen[redacted] = true;
                } else {
                    int valueStart = valueStart(lines, colon + 1, end);
                    g.writeStartObject();
                    g.writeFieldName(NAME);
                    text(g, lines, line, colon - line);
                    g.writeFieldName(VALUE);
                    text(g, lines, valueStart, valueEnd(lines, valueStart, end) - valueStart);
                    g.writeEndObject();
                }
            }
            line = end + 2;
        }
        g.writeEndArray();
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
    private static void contentType(JsonGenerator g, byte[] lines) throws IOException {
        for (int line = 0; line < lines.length; ) {
            int end = lineEnd(lines, line);
            int colon = line + CONTENT_TYPE.length();
            if (colon < end && lines[colon] == ':' && named(lines, line, colon, CONTENT_TYPE)) {
                int valueStart = valueStart(lines, colon + 1, end);
                text(g, lines, valueStart, valueEnd(lines, valueStart, end) - valueStart);
                return;
            }
            line = end + 2;
        }
        g.writeString("");
    }

    /**
     * {@code a[start, start + length)} as a JSON string, each byte one char (ISO-8859-1, as Sluice
     * reads field values): ASCII is handed to the generator as the UTF-8 it already is, without
     * making a String.
     */
    private static void text(JsonGenerator g, byte[] a, int start, int length) throws IOException {
        for (int i = start; i < start + length; i++) {
            if (a[i] < 0) {
                g.writeString(new String(a, start, length, StandardCharsets.ISO_8859_1));
                return;
            }
        }
        g.writeUTF8String(a, start, length);
    }

    /** {@code postData}'s text: the bytes as text when they are valid UTF-8, else base64. */
    private void body(JsonGenerator g, byte[] body, int length) throws IOException {
        g.writeFieldName(TEXT);
        CharBuffer text;
        try {
            text = utf8.reset().decode(ByteBuffer.wrap(body, 0, length));
        } catch (CharacterCodingException notUtf8) {
            g.writeString(Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(body, length)));
            g.writeFieldName(ENCODING);
            g.writeString("base64");
            return;
        }
        g.writeString(text.array(), text.arrayOffset() + text.position(), text.remaining());
    }

    private void writeSha256(JsonGenerator g, RecordedExchange e) throws IOException {
        byte[] digest = e.responseBodySha256();
        if (digest == null) {
            if (e.responseBody() != null) {
                sha256.update(e.responseBody(), 0, e.responseBodyKept());
            }
            digest = sha256.digest();
        }
        for (int i = 0; i < digest.length; i++) {
            hex[2 * i] = HEX[(digest[i] >> 4) & 0xf];
            hex[2 * i + 1] = HEX[digest[i] & 0xf];
        }
        g.writeString(hex, 0, 2 * digest.length);
    }

    /** ISO 8601 in UTC to the millisecond ({@code 2026-12-05T02:41:07.123Z}), as {@code Instant} prints it. */
    private void writeDate(JsonGenerator g, long epochMillis) throws IOException {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != dateSecond) {
            String text = Instant.ofEpochSecond(second).toString(); // ...:07Z: no fraction for a whole second
            dateLength = text.length() - 1;
            text.getChars(0, dateLength, date, 0);
            dateSecond = second;
        }
        int ms = (int) Math.floorMod(epochMillis, 1000);
        int n = dateLength;
        date[n++] = '.';
        date[n++] = (char) ('0' + ms / 100);
        date[n++] = (char) ('0' + ms / 10 % 10);
        date[n++] = (char) ('0' + ms % 10);
        date[n++] = 'Z';
        g.writeString(date, 0, n);
    }

    /**
     * Milliseconds to the microsecond (HAR's times are decimals, and more digits are noise), as
     * {@code Double.toString} writes them ({@code 12.406}, {@code 5.0}) without its cost.
     */
    private void writeMillis(JsonGenerator g, long nanos) throws IOException {
        long micros = (Math.max(nanos, 0) + 500) / 1000;
        String whole = Long.toString(micros / 1000);
        int n = whole.length();
        whole.getChars(0, n, number, 0);
        number[n++] = '.';
        int fraction = (int) (micros % 1000);
        number[n++] = (char) ('0' + fraction / 100);
        if (fraction % 100 != 0) {
            number[n++] = (char) ('0' + fraction / 10 % 10);
            if (fraction % 10 != 0) {
                number[n++] = (char) ('0' + fraction % 10);
            }
        }
        g.writeNumber(number, 0, n);
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

    private static SerializableString name(String name) {
        return new SerializedString(name);
    }
}
