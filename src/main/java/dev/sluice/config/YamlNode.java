package dev.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML value with the position it was written at. The loader binds records from this tree by
 * hand, rather than with data binding, so that every error can name the exact key or value.
 */
sealed interface YamlNode permits YamlNode.Mapping, YamlNode.Sequence, YamlNode.Scalar {

    Position at();

    /** What this node is, for "expected X, got Y" messages: "a map", "the string 'x'". */
    String describe();

    /** A map with string keys, in file order. */
    record Mapping(Position at, Map<String, Entry> entries) implements YamlNode {
        public Mapping {
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        }

        @Override
        public String describe() {
            return "a map";
        }
    }

    /** One key of a {@link Mapping}: where the key was written, and its value. */
    record Entry(Position keyAt, YamlNode value) {}

    record Sequence(Position at, List<YamlNode> items) implements YamlNode {
        public Sequence {
            items = List.copyOf(items);
        }

        @Override
        public String describe() {
            return "a list";
        }
    }

    /**
     * A leaf value. {@code text} is the value as written (after YAML quoting rules), whatever
     * type YAML gave it, so that {@code x-version: 1.10} stays "1.10".
     */
    record Scalar(Position at, String text, Kind kind) implements YamlNode {

        boolean isEmpty() {
            return kind == Kind.NULL || (kind == Kind.STRING && text.isEmpty());
        }

        @Override
        public String describe() {
            if (isEmpty()) {
                return "an empty value";
            }
            return switch (kind) {
                case STRING -> "the string '" + abbreviated(text) + "'";
                case INTEGER, DECIMAL -> "the number " + abbreviated(text);
                case TRUE, FALSE -> "the boolean " + text;
                case ALIAS -> "the alias *" + text;
                case NULL -> "an empty value";
            };
        }

        private static String abbreviated(String text) {
            String oneLine = text.replace("\n", "\\n");
            return oneLine.length() <= 40 ? oneLine : oneLine.substring(0, 37) + "...";
        }
    }

    /** The YAML type of a scalar. ALIAS is a {@code *name} reference, which Sluice does not expand. */
    enum Kind { STRING, INTEGER, DECIMAL, TRUE, FALSE, NULL, ALIAS }
}
