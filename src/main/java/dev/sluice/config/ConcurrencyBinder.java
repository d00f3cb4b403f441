package dev.sluice.config;

import dev.sluice.config.ConcurrencyConfig.Mode;
import dev.sluice.config.YamlNode.Kind;
import dev.sluice.config.YamlNode.Scalar;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Binds {@code clusters[].concurrency}. */
final class ConcurrencyBinder {
    private static final List<String> KEYS = List.of("limit", "max", "queue", "queue_timeout");
    private static final String ADAPTIVE = "adaptive";
    private static final String OFF = "off";
    private static final String LIMIT_VALUES = "adaptive, off or a positive number";

    /** What {@code limit} says: the mode, and the fixed number (for {@code adaptive} and {@code off}, the default start). */
    private record Limit(Mode mode, int value) {}

    private final Values values;

    ConcurrencyBinder(Values values) {
        this.values = values;
    }

    /** The limit with every unwritten key at its default, or empty after reporting why not. */
    Optional<ConcurrencyConfig> bind(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<Limit> limit = f.optional("limit").map(n -> limit(n, f.path("limit")))
                .orElse(Optional.of(new Limit(ConcurrencyConfig.DEFAULT_MODE, ConcurrencyConfig.DEFAULT_INITIAL_LIMIT)));
        Optional<YamlNode> maxNode = f.optional("max");
        Optional<Integer> max = maxNode.flatMap(n -> values.integer(n, f.path("max"), 1, Integer.MAX_VALUE));
        int queue = f.optional("queue").flatMap(n -> values.integer(n, f.path("queue"), 0, Integer.MAX_VALUE))
                .orElse(ConcurrencyConfig.DEFAULT_QUEUE);
        Duration queueTimeout = f.optional("queue_timeout").flatMap(n -> values.duration(n, f.path("queue_timeout")))
                .orElse(ConcurrencyConfig.DEFAULT_QUEUE_TIMEOUT);
        if (limit.isPresent() && limit.get().mode() == Mode.FIXED && max.isPresent() && max.get() < limit.get().value()) {
            values.invalid(maxNode.get(), f.path("max"), max.get() + " is below the fixed limit " + limit.get().value()
                    + "; max must be at least the limit");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(config(limit.get(), max, queue, queueTimeout));
    }

    private static ConcurrencyConfig config(Limit limit, Optional<Integer> max, int queue, Duration queueTimeout) {
        if (limit.mode() == Mode.FIXED) {
            // An unwritten max never refuses a fixed limit above the default ceiling.
            int ceiling = max.orElse(Math.max(ConcurrencyConfig.DEFAULT_MAX, limit.value()));
            return new ConcurrencyConfig(Mode.FIXED, limit.value(), ceiling, queue, queueTimeout);
        }
        // A ceiling below the usual start starts the adaptive limit at the ceiling.
        int ceiling = max.orElse(ConcurrencyConfig.DEFAULT_MAX);
        return new ConcurrencyConfig(limit.mode(), Math.min(limit.value(), ceiling), ceiling, queue, queueTimeout);
    }

    /** {@code adaptive}, {@code off} (which YAML reads as false; {@code false} means the same), or a whole number ≥ 1. */
    private Optional<Limit> limit(YamlNode node, String path) {
        Optional<String> text = values.text(node, path, LIMIT_VALUES);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Kind kind = ((Scalar) node).kind();
        String written = text.get();
        if (kind == Kind.STRING && written.equals(ADAPTIVE)) {
            return Optional.of(new Limit(Mode.ADAPTIVE, ConcurrencyConfig.DEFAULT_INITIAL_LIMIT));
        }
        if (kind == Kind.FALSE && List.of(OFF, "false").contains(written.toLowerCase(Locale.ROOT))) {
            return Optional.of(new Limit(Mode.OFF, ConcurrencyConfig.DEFAULT_INITIAL_LIMIT));
        }
        if (kind == Kind.INTEGER && !written.startsWith("-") && !written.chars().allMatch(c -> c == '0')) {
            // Positive; integer() still refuses it written in hex or past int's range.
            return values.integer(node, path, 1, Integer.MAX_VALUE).map(n -> new Limit(Mode.FIXED, n));
        }
        String help = switch (kind) {
            case INTEGER -> written.startsWith("-") ? "" : " (for no limit, write 'off')";
            case STRING, TRUE, FALSE -> Suggestions.didYouMean(written, List.of(ADAPTIVE, OFF));
            default -> "";
        };
        values.invalid(node, path, "expected " + LIMIT_VALUES + ", got " + node.describe() + help);
        return Optional.empty();
    }
}
