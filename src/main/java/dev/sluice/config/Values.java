package dev.sluice.config;

import dev.sluice.config.YamlNode.Kind;
import dev.sluice.config.YamlNode.Mapping;
import dev.sluice.config.YamlNode.Scalar;
import dev.sluice.config.YamlNode.Sequence;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Typed reads from located nodes. Each method returns the value, or empty after recording why
 * not at the node's position as {@code path: reason}; callers substitute nothing and move on.
 */
final class Values {
    private static final Pattern DECIMAL_INTEGER = Pattern.compile("-?(0|[1-9][0-9]*)");

    private final Problems problems;

    Values(Problems problems) {
        this.problems = problems;
    }

    Problems problems() {
        return problems;
    }

    void invalid(YamlNode node, String path, String reason) {
        problems.add(node.at(), path + ": " + reason);
    }

    Optional<Mapping> map(YamlNode node, String path) {
        if (node instanceof Mapping map) {
            return Optional.of(map);
        }
        return mismatch(node, path, "a map");
    }

    Optional<Sequence> list(YamlNode node, String path) {
        if (node instanceof Sequence list) {
            return Optional.of(list);
        }
        // The usual cause is a forgotten "- " in front of the items.
        String hint = node instanceof Mapping ? "; start each item with '- '" : "";
        return mismatch(node, path, "a list", hint);
    }

    /** The text of any non-empty scalar: YAML may call {@code 1.10} a number, the config wants it as written. */
    Optional<String> text(YamlNode node, String path, String expected) {
        if (node instanceof Scalar scalar && !scalar.isEmpty() && scalar.kind() != Kind.ALIAS) {
            return Optional.of(scalar.text());
        }
        return mismatch(node, path, expected);
    }

    Optional<String> text(YamlNode node, String path) {
        return text(node, path, "a string");
    }

    /** A name used in messages, logs and metric labels: non-empty, no spaces or control characters. */
    Optional<String> name(YamlNode node, String path) {
        return parsed(node, path, "a name", text -> text.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))
                ? Parsed.invalid("name '" + text + "' must not contain spaces or control characters")
                : Parsed.ok(text));
    }

    /** A whole number in {@code [min, max]}, written as a plain YAML number (a quoted "100" is a string). */
    Optional<Integer> integer(YamlNode node, String path, int min, int max) {
        if (!(node instanceof Scalar scalar) || scalar.kind() != Kind.INTEGER) {
            return mismatch(node, path, "a whole number");
        }
        if (!DECIMAL_INTEGER.matcher(scalar.text()).matches()) {
            invalid(node, path, "write '" + scalar.text() + "' as a plain decimal number");
            return Optional.empty();
        }
        long value;
        try {
            value = Long.parseLong(scalar.text());
        } catch (NumberFormatException tooLong) {
            value = scalar.text().startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        if (value < min || value > max) {
            invalid(node, path, scalar.text() + " is out of range; it must be " + range(min, max));
            return Optional.empty();
        }
        return Optional.of((int) value);
    }

    Optional<Boolean> bool(YamlNode node, String path) {
        if (node instanceof Scalar scalar && (scalar.kind() == Kind.TRUE || scalar.kind() == Kind.FALSE)) {
            return Optional.of(scalar.kind() == Kind.TRUE);
        }
        return mismatch(node, path, "true or false");
    }

    /** A plain YAML number in {@code (min, max]}, or {@code [min, max]} when {@code minIncluded}. */
    Optional<Double> decimal(YamlNode node, String path, double min, double max, boolean minIncluded) {
        if (!(node instanceof Scalar s) || (s.kind() != Kind.DECIMAL && s.kind() != Kind.INTEGER)) {
            invalid(node, path, "expected a number like 0.05, got " + node.describe());
            return Optional.empty();
        }
        double value;
        try {
            value = Double.parseDouble(s.text());
        } catch (NumberFormatException e) {
            invalid(node, path, "write '" + s.text() + "' as a plain decimal number like 0.05");
            return Optional.empty();
        }
        boolean aboveMin = minIncluded ? value >= min : value > min;
        if (!aboveMin || value > max || Double.isNaN(value)) {
            invalid(node, path, s.text() + " is out of range; it must be " + (minIncluded ? "at least " : "above ")
                    + fmt(min) + " and at most " + fmt(max));
            return Optional.empty();
        }
        return Optional.of(value);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    Optional<Duration> duration(YamlNode node, String path) {
        return parsed(node, path, "a duration like 2s", Durations::parse);
    }

    /**
     * A duration, or empty for {@code off} (or {@code false}, in any case); empty too after an
     * error, which is recorded (the enclosing item is dropped then anyway). {@code example}: a
     * duration the message suggests, such as {@code 15m}.
     */
    Optional<Duration> durationOrOff(YamlNode node, String path, String example) {
        if (node instanceof Scalar s && (s.text().equalsIgnoreCase("off") || s.text().equalsIgnoreCase("false"))) {
            return Optional.empty();
        }
        return parsed(node, path, "a duration like " + example + ", or off", text -> switch (Durations.parse(text)) {
            case Parsed.Ok<Duration> ok -> ok;
            case Parsed.Invalid<Duration> bad -> Parsed.invalid(bad.reason() + ", or 'off'");
        });
    }

    Optional<HostPort> address(YamlNode node, String path, int minPort) {
        if (node instanceof Sequence) {
            // "address: [::1]" is valid YAML for a one-item list; the brackets needed quotes.
            return mismatch(node, path, "host:port", "; quote IPv6 addresses, e.g. \"[::1]:8080\"");
        }
        return parsed(node, path, "host:port", text -> Addresses.parse(text, minPort));
    }

    /** Reads a scalar's text and parses it; a parse failure is reported with the parser's reason. */
    <T> Optional<T> parsed(YamlNode node, String path, String expected, Function<String, Parsed<T>> parser) {
        return text(node, path, expected).flatMap(text -> switch (parser.apply(text)) {
            case Parsed.Ok<T> ok -> Optional.of(ok.value());
            case Parsed.Invalid<T> invalid -> {
                invalid(node, path, invalid.reason());
                yield Optional.empty();
            }
        });
    }

    private <T> Optional<T> mismatch(YamlNode node, String path, String expected) {
        return mismatch(node, path, expected, "");
    }

    private <T> Optional<T> mismatch(YamlNode node, String path, String expected, String hint) {
        if (node instanceof Scalar scalar && scalar.kind() == Kind.ALIAS) {
            invalid(node, path, "YAML aliases (*" + scalar.text() + ") are not supported; write the value out");
        } else {
            invalid(node, path, "expected " + expected + ", got " + node.describe() + hint);
        }
        return Optional.empty();
    }

    private static String range(int min, int max) {
        if (max == Integer.MAX_VALUE) {
            return min == 0 ? "0 or more" : "at least " + min;
        }
        return "between " + min + " and " + max;
    }
}
