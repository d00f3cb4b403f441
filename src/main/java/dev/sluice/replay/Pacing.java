package dev.sluice.replay;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * When each request goes out, counted from the start of the replay: the recording's own pacing
 * sped up or slowed down ({@code 1x}, {@code 2x}, {@code 0.5x}: each request at its
 * {@code startedDateTime} offset divided by the factor), or a fixed rate ({@code 500/s}).
 */
sealed interface Pacing {
    /** When the request at {@code index}, started at {@code started}, is due after the replay began. */
    Duration due(int index, Instant started, Instant firstStarted);

    record Scaled(double factor) implements Pacing {
        @Override
        public Duration due(int index, Instant started, Instant firstStarted) {
            return Duration.ofNanos((long) (Duration.between(firstStarted, started).toNanos() / factor));
        }

        @Override
        public String toString() {
            return format(factor) + "x";
        }
    }

    record Fixed(double perSecond) implements Pacing {
        @Override
        public Duration due(int index, Instant started, Instant firstStarted) {
            return Duration.ofNanos((long) (index * 1e9 / perSecond));
        }

        @Override
        public String toString() {
            return format(perSecond) + "/s";
        }
    }

    /** {@code 1x}, {@code 2.5x}, {@code 200/s}; anything else is refused with what is accepted. */
    static Pacing parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("x")) {
                double factor = Double.parseDouble(t.substring(0, t.length() - 1));
                if (factor > 0 && Double.isFinite(factor)) {
                    return new Scaled(factor);
                }
            } else if (t.endsWith("/s")) {
                double rate = Double.parseDouble(t.substring(0, t.length() - 2));
                if (rate > 0 && Double.isFinite(rate)) {
                    return new Fixed(rate);
                }
            }
        } catch (NumberFormatException fallThrough) {
            // Told below, with the forms that work.
        }
        throw new IllegalArgumentException("'" + text + "' is not a rate: write 1x (the recording's pacing), 2x "
                + "(twice as fast), 0.5x, or a fixed rate such as 200/s");
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
