package dev.sluice.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes: a plain number of bytes, or a whole number of {@code KiB} or {@code MiB}. Only
 * binary units: "64KB" is 64,000 bytes to some people and 65,536 to others.
 */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]+)(KiB|MiB)?");

    private Sizes() {}

    static Parsed<Integer> parse(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            return Parsed.invalid("invalid size '" + text + "': use a number of bytes, or KiB or MiB, e.g. 65536 or 64KiB");
        }
        try {
            long multiplier = m.group(2) == null ? 1 : m.group(2).equals("KiB") ? 1024 : 1024 * 1024;
            long bytes = Math.multiplyExact(Long.parseLong(m.group(1)), multiplier);
            if (bytes == 0) {
                return Parsed.invalid("invalid size '" + text + "': must be at least 1 byte");
            }
            if (bytes > Integer.MAX_VALUE) {
                return Parsed.invalid("invalid size '" + text + "': too large");
            }
            return Parsed.ok((int) bytes);
        } catch (NumberFormatException | ArithmeticException tooLarge) {
            return Parsed.invalid("invalid size '" + text + "': too large");
        }
    }
}
