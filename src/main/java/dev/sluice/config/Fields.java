package dev.sluice.config;

import dev.sluice.config.YamlNode.Entry;
import dev.sluice.config.YamlNode.Mapping;
import java.util.List;
import java.util.Optional;

/**
 * The keys of one config map, checked against the keys that section allows. Unknown keys are
 * errors, because a misspelt optional key would otherwise be ignored and its default used.
 */
final class Fields {
    private final Mapping map;
    private final String path;
    private final Problems problems;

    private Fields(Mapping map, String path, Problems problems) {
        this.map = map;
        this.path = path;
        this.problems = problems;
    }

    /** Reports every key of {@code map} that is not in {@code allowed}. */
    static Fields of(Mapping map, String path, List<String> allowed, Problems problems) {
        map.entries().forEach((key, entry) -> {
            if (!allowed.contains(key)) {
                String help = Suggestions.closest(key, allowed)
                        .map(c -> " (did you mean '" + c + "'?)")
                        .orElse(" (allowed: " + String.join(", ", allowed) + ")");
                problems.add(entry.keyAt(), "unknown key '" + key + "' " + Paths.where(path) + help);
            }
        });
        return new Fields(map, path, problems);
    }

    Optional<YamlNode> optional(String key) {
        return Optional.ofNullable(map.entries().get(key)).map(Entry::value);
    }

    /** The value, or empty after reporting the key missing at the map's own position. */
    Optional<YamlNode> required(String key) {
        Optional<YamlNode> value = optional(key);
        if (value.isEmpty()) {
            problems.add(map.at(), "missing required key '" + key + "' " + Paths.where(path));
        }
        return value;
    }

    /** Where {@code key} was written, or where the map starts when it was not. */
    Position keyAt(String key) {
        Entry entry = map.entries().get(key);
        return entry == null ? map.at() : entry.keyAt();
    }

    Position at() {
        return map.at();
    }

    String path(String key) {
        return Paths.child(path, key);
    }
}
