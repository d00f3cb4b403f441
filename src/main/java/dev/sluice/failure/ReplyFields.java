package dev.sluice.failure;

import io.netty.util.AsciiString;
import java.util.Arrays;

/**
 * Header fields a local reply carries beside those of its kind: what the policy that refused a
 * request tells its client (a 429's {@code Retry-After}, {@code RateLimit-Policy} and
 * {@code RateLimit}). A {@code Retry-After} here replaces the kind's fixed one. Immutable.
 */
public final class ReplyFields {
    public static final ReplyFields NONE = new ReplyFields(new AsciiString[0], new String[0]);

    private final AsciiString[] names;
    private final String[] values;

    private ReplyFields(AsciiString[] names, String[] values) {
        this.names = names;
        this.values = values;
    }

    /** These fields and {@code name: value} after them. */
    public ReplyFields with(AsciiString name, String value) {
        AsciiString[] n = Arrays.copyOf(names, names.length + 1);
        String[] v = Arrays.copyOf(values, values.length + 1);
        n[names.length] = name;
        v[values.length] = value;
        return new ReplyFields(n, v);
    }

    /** These fields and {@code more}'s after them. */
    public ReplyFields with(ReplyFields more) {
        if (more.names.length == 0) {
            return this;
        }
        if (names.length == 0) {
            return more;
        }
        AsciiString[] n = Arrays.copyOf(names, names.length + more.names.length);
        String[] v = Arrays.copyOf(values, values.length + more.values.length);
        System.arraycopy(more.names, 0, n, names.length, more.names.length);
        System.arraycopy(more.values, 0, v, values.length, more.values.length);
        return new ReplyFields(n, v);
    }

    public int size() {
        return names.length;
    }

    public AsciiString name(int i) {
        return names[i];
    }

    public String value(int i) {
        return values[i];
    }

    /** The value of {@code name}, or null. */
    public String get(AsciiString name) {
        for (int i = 0; i < names.length; i++) {
            if (names[i].contentEqualsIgnoreCase(name)) {
                return values[i];
            }
        }
        return null;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            text.append(i == 0 ? "" : "\n").append(names[i]).append(": ").append(values[i]);
        }
        return text.toString();
    }
}
