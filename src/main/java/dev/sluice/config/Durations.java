package dev.sluice.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as written in the config: a whole number and a unit, {@code 250ms}, {@code 2s},
 * {@code 5m}, {@code 1h}. No bare numbers: "30" could be seconds or milliseconds, and guessing
 * wrong is a 1000x timeout. Zero is rejected too; every timeout Sluice has needs to be positive.
 */
final class Durations {
    private static final Pattern DURATION = Pattern.compile("(-?)([0-9]+)(ms|s|m|h)");
    private static final Pattern NUMBER_ONLY = Pattern.compile("-?[0-9]+");
    private static final Pattern FRACTION = Pattern.compile("-?[0-9]*\\.[0-9]+(ms|s|m|h)");
    private static final String EXAMPLES = "use e.g. 250ms, 2s, 5m";

    private Durations() {}

    static Parsed<Duration> parse(String text) {
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            return Parsed.invalid(invalid(text) + ": " + whyNot(text));
        }
        if (!m.group(1).isEmpty()) {
            return Parsed.invalid(invalid(text) + ": must be positive");
        }
        try {
            long amount = Long.parseLong(m.group(2));
            if (amount == 0) {
                return Parsed.invalid(invalid(text) + ": must be greater than zero");
            }
            return Parsed.ok(switch (m.group(3)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> throw new AssertionError(m.group(3));
            });
        } catch (NumberFormatException | ArithmeticException tooLarge) {
            return Parsed.invalid(invalid(text) + ": too large");
        }
    }

    /** The shortest exact form, as a user would write it: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms != 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        // Minutes only from 10 up: "60s" reads better than "1m" next to a limit like 600s.
        if (ms >= 600_000 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    private static String invalid(String text) {
        return "invalid duration '" + text + "'";
    }

    private static String whyNot(String text) {
        if (NUMBER_ONLY.matcher(text).matches()) {
            return "missing unit (did you mean '" + text + "s'?)";
        }
        if (FRACTION.matcher(text).matches()) {
            return "use a whole number of a smaller unit, e.g. 1500ms rather than 1.5s";
        }
        return EXAMPLES;
    }
}
