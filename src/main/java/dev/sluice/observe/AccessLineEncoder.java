package dev.sluice.observe;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * One access-log line, a JSON object (RFC 8259) ending in a newline, written as UTF-8 straight
 * into a byte array: no String, no StringBuilder, no charset encoder per line. Not thread-safe:
 * each thread that logs has its own (it keeps the text of the current second).
 */
final class AccessLineEncoder {
    /** Every byte of a line that does not come from a string field, with room to spare. */
    private static final int FIXED_BYTES = 1024;
    /** The same for one entry of {@code tries}, beside its endpoint and decision. */
    private static final int FIXED_BYTES_PER_ATTEMPT = 160;
    /** The most one char can become: {@code \}{@code u001f} is six bytes (UTF-8 needs at most three). */
    private static final int MAX_BYTES_PER_CHAR = 6;
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = ascii("null");
    private static final byte[] TRUE = ascii("true");
    private static final byte[] FALSE = ascii("false");

    private static final byte[] TIME = ascii("{\"time\":\"");
    private static final byte[] REQUEST_ID = name("request_id");
    private static final byte[] TRACE_ID = name("trace_id");
    private static final byte[] CLIENT = name("client");
    private static final byte[] PEER = name("peer");
    private static final byte[] SHADOW_LIMITED = name("shadow_limited");
    private static final byte[] MIRROR = name("mirror");
    private static final byte[] USER = name("user");
    private static final byte[] METHOD = name("method");
    private static final byte[] HOST = name("host");
    private static final byte[] PATH = name("path");
    private static final byte[] PROTOCOL = name("protocol");
    private static final byte[] USER_AGENT = name("user_agent");
    private static final byte[] REFERER = name("referer");
    private static final byte[] ROUTE = name("route");
    private static final byte[] CLUSTER = name("cluster");
    private static final byte[] ENDPOINT = name("endpoint");
    private static final byte[] STATUS = name("status");
    private static final byte[] UPSTREAM_STATUS = name("upstream_status");
    private static final byte[] FAILURE = name("failure");
    private static final byte[] CLIENT_ABORTED = name("client_aborted");
    private static final byte[] ATTEMPTS = name("attempts");
    private static final byte[] TRIES = name("tries");
    private static final byte[] DECISION = name("decision");
    private static final byte[] REUSED = name("reused");
    private static final byte[] IDLE_MS = name("idle_ms");
    private static final byte[] DURATION_MS = name("duration_ms");
    private static final byte[] CONNECT_MS = name("connect_ms");
    private static final byte[] UPSTREAM_MS = name("upstream_ms");
    private static final byte[] BYTES_IN = name("bytes_in");
    private static final byte[] BYTES_OUT = name("bytes_out");

    private final QueryRedaction redaction;
    /** The last request {@link #redactedPath} was asked about, and its answer: each line redacts once. */
    private RequestLog pathOf;
    private String path;

    AccessLineEncoder() {
        this(QueryRedaction.DEFAULT);
    }

    AccessLineEncoder(QueryRedaction redaction) {
        this.redaction = redaction;
    }

    /** {@code 2026-11-23T11:48:20}: the date and time are formatted once per second, not per line. */
    private final byte[] secondText = new byte[19];
    private long cachedSecond = Long.MIN_VALUE;
    private byte[] out;
    private int pos;

    /**
     * An upper bound of the bytes {@link #encode} writes for {@code r}, newline included. It
     * redacts {@code r}'s query, which the {@link #encode} that follows then writes.
     */
    int maxLength(RequestLog r) {
        long chars = length(r.requestId()) + length(r.client()) + length(r.peer())
                + length(r.shadowLimited()) + length(r.user()) + length(r.userAgent()) + length(r.referer()) + length(r.method()) + length(r.host())
                + length(redactedPath(r)) + length(r.protocol()) + length(r.route()) + length(r.cluster())
                + length(r.endpoint()) + length(r.mirror());
        List<RequestLog.Attempt> attempts = r.attempts();
        long fixed = FIXED_BYTES + (long) FIXED_BYTES_PER_ATTEMPT * attempts.size();
        for (int i = 0; i < attempts.size(); i++) {
            chars += length(attempts.get(i).endpoint()) + length(attempts.get(i).decision());
        }
        return (int) Math.min(Integer.MAX_VALUE - 16, fixed + chars * MAX_BYTES_PER_CHAR);
    }

    private String redactedPath(RequestLog r) {
        if (pathOf != r) {
            pathOf = r;
            path = redaction.apply(r.uri());
        }
        return path;
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }

    /**
     * Writes the line for {@code e} at {@code out[start]} and returns the position after its
     * newline. The caller leaves {@link #maxLength} bytes of room.
     */
    int encode(RequestLog e, byte[] out, int start) {
        this.out = out;
        this.pos = start;
        put(TIME);
        time(e.startEpochMillis());
        put('"');
        put(',');
        string(REQUEST_ID, e.requestId());
        traceId(e.traceparent());
        string(CLIENT, e.client());
        if (e.peer() != null) {
            string(PEER, e.peer());
        }
        if (e.user() != null) {
            string(USER, e.user());
        }
        string(METHOD, e.method());
        string(HOST, e.host());
        string(PATH, redactedPath(e));
        string(PROTOCOL, e.protocol());
        string(USER_AGENT, e.userAgent());
        string(REFERER, e.referer());
        string(ROUTE, e.route());
        string(CLUSTER, e.cluster());
        string(ENDPOINT, e.endpoint());
        number(STATUS, e.status());
        if (e.upstreamStatus() > 0) {
            number(UPSTREAM_STATUS, e.upstreamStatus());
        } else {
            literal(UPSTREAM_STATUS, NULL);
        }
        string(FAILURE, e.failure() == null ? null : e.failure().label());
        if (e.clientAborted()) {
            literal(CLIENT_ABORTED, TRUE);
        }
        if (e.shadowLimited() != null) {
            string(SHADOW_LIMITED, e.shadowLimited());
        }
        if (e.mirror() != null) {
            string(MIRROR, e.mirror());
        }
        // Failed attempts are recorded; a successful last one is not.
        number(ATTEMPTS, e.attempts().size() + (e.failure() == null && e.upstreamStatus() > 0 ? 1 : 0));
        attempts(e.attempts());
        literal(REUSED, e.connectionReused() ? TRUE : FALSE);
        number(IDLE_MS, e.connectionIdleMillis());
        millis(DURATION_MS, e.totalNanos());
        millis(CONNECT_MS, e.connectNanos());
        millis(UPSTREAM_MS, e.upstreamNanos());
        number(BYTES_IN, e.bytesIn());
        number(BYTES_OUT, e.bytesOut());
        out[pos - 1] = '}';
        put('\n');
        this.out = null;
        this.pathOf = null;
        this.path = null;
        return pos;
    }

    private void attempts(List<RequestLog.Attempt> attempts) {
        if (attempts.isEmpty()) {
            return;
        }
        put(TRIES);
        put('[');
        for (int i = 0; i < attempts.size(); i++) {
            RequestLog.Attempt a = attempts.get(i);
            put('{');
            string(ENDPOINT, a.endpoint());
            string(FAILURE, a.failure() == null ? null : a.failure().label());
            string(DECISION, a.decision());
            literal(REUSED, a.reused() ? TRUE : FALSE);
            out[pos - 1] = '}';
            put(',');
        }
        out[pos - 1] = ']';
        put(',');
    }

    /**
     * ISO-8601 UTC with milliseconds, as {@code Instant.toString()} prints it when the
     * milliseconds are not zero (and with {@code .000} when they are: one width for every line).
     */
    private void time(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != cachedSecond) {
            String text = LocalDateTime.ofEpochSecond(second, 0, ZoneOffset.UTC)
                    .format(DateTimeFormatter.ISO_LOCAL_DATE_TIME);
            // ISO_LOCAL_DATE_TIME leaves out ":00" seconds.
            byte[] bytes = ascii(text.length() == 16 ? text + ":00" : text);
            if (bytes.length != secondText.length) {
                // Years beyond 9999 or before 0: not worth a cache.
                put(bytes);
                threeDigits(Math.floorMod(epochMillis, 1000));
                return;
            }
            System.arraycopy(bytes, 0, secondText, 0, bytes.length);
            cachedSecond = second;
        }
        put(secondText);
        threeDigits(Math.floorMod(epochMillis, 1000));
    }

    private void threeDigits(long millis) {
        out[pos] = '.';
        out[pos + 1] = (byte) ('0' + millis / 100);
        out[pos + 2] = (byte) ('0' + millis / 10 % 10);
        out[pos + 3] = (byte) ('0' + millis % 10);
        out[pos + 4] = 'Z';
        pos += 5;
    }

    private void string(byte[] name, String value) {
        put(name);
        if (value == null) {
            put(NULL);
            put(',');
            return;
        }
        put('"');
        escape(value);
        put('"');
        put(',');
    }

    /** {@code "trace_id"}: the trace-id of a traceparent (kept valid, or made: lower-case hex), or null. */
    private void traceId(String traceparent) {
        put(TRACE_ID);
        if (traceparent == null) {
            put(NULL);
        } else {
            put('"');
            for (int i = 3; i < 35; i++) {
                put(traceparent.charAt(i));
            }
            put('"');
        }
        put(',');
    }

    private void literal(byte[] name, byte[] json) {
        put(name);
        put(json);
        put(',');
    }

    private void number(byte[] name, long value) {
        put(name);
        decimal(value);
        put(',');
    }

    /** Three decimals: microsecond resolution without float formatting. */
    private void millis(byte[] name, long nanos) {
        put(name);
        long micros = nanos / 1000;
        if (micros < 0) {
            put('-');
            micros = -micros;
        }
        decimal(micros / 1000);
        long frac = micros % 1000;
        put('.');
        put((byte) ('0' + frac / 100));
        put((byte) ('0' + frac / 10 % 10));
        put((byte) ('0' + frac % 10));
        put(',');
    }

    private void decimal(long value) {
        if (value < 0) {
            if (value == Long.MIN_VALUE) {
                put(ascii(Long.toString(value)));
                return;
            }
            put('-');
            value = -value;
        }
        int digits = 1;
        for (long v = value; v >= 10; v /= 10) {
            digits++;
        }
        int end = pos + digits;
        for (int i = end - 1; i >= pos; i--) {
            out[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        pos = end;
    }

    /**
     * JSON string escaping (RFC 8259 §7), the rest as UTF-8; request paths and hosts are
     * untrusted. A lone surrogate becomes {@code ?}, as Java's UTF-8 encoder writes it.
     */
    private void escape(String s) {
        byte[] b = out;
        int p = pos;
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                b[p++] = (byte) c;
            } else if (c < 0x80) {
                b[p++] = '\\';
                switch (c) {
                    case '"' -> b[p++] = '"';
                    case '\\' -> b[p++] = '\\';
                    case '\n' -> b[p++] = 'n';
                    case '\r' -> b[p++] = 'r';
                    case '\t' -> b[p++] = 't';
                    default -> {
                        b[p++] = 'u';
                        b[p++] = '0';
                        b[p++] = '0';
                        b[p++] = HEX[c >> 4];
                        b[p++] = HEX[c & 0xf];
                    }
                }
            } else if (c < 0x800) {
                b[p++] = (byte) (0xc0 | c >> 6);
                b[p++] = (byte) (0x80 | c & 0x3f);
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b[p++] = (byte) (0xf0 | cp >> 18);
                b[p++] = (byte) (0x80 | cp >> 12 & 0x3f);
                b[p++] = (byte) (0x80 | cp >> 6 & 0x3f);
                b[p++] = (byte) (0x80 | cp & 0x3f);
            } else if (Character.isSurrogate(c)) {
                b[p++] = '?';
            } else {
                b[p++] = (byte) (0xe0 | c >> 12);
                b[p++] = (byte) (0x80 | c >> 6 & 0x3f);
                b[p++] = (byte) (0x80 | c & 0x3f);
            }
        }
        pos = p;
    }

    private void put(byte[] bytes) {
        System.arraycopy(bytes, 0, out, pos, bytes.length);
        pos += bytes.length;
    }

    private void put(char c) {
        out[pos++] = (byte) c;
    }

    private void put(byte b) {
        out[pos++] = b;
    }

    private static byte[] name(String name) {
        return ascii("\"" + name + "\":");
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
