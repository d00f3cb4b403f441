package dev.sluice.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The top-level {@code endpoints:} inventory: every backend with its labels, written once, that
 * clusters take by label with {@code select}. Remembers where each entry was written, and which
 * entries some cluster selected, so that an entry nobody selects can be pointed out.
 */
final class Inventory {
    /** One endpoint of the inventory and where it was written. */
    record Entry(EndpointConfig endpoint, Position at) {}

    static final Inventory NONE = new Inventory(List.of(), false);

    private final List<Entry> entries;
    private final boolean present;
    private final Set<HostPort> selected = new HashSet<>();

    Inventory(List<Entry> entries, boolean present) {
        this.entries = List.copyOf(entries);
        this.present = present;
    }

    /** False when the file has no {@code endpoints:} section at all. */
    boolean present() {
        return present;
    }

    int size() {
        return entries.size();
    }

    /** The entries carrying every label of {@code selector}, in inventory order; they count as selected. */
    List<Entry> select(Map<String, String> selector) {
        List<Entry> matching = new ArrayList<>();
        for (Entry e : entries) {
            if (e.endpoint().labels().entrySet().containsAll(selector.entrySet())) {
                matching.add(e);
                selected.add(e.endpoint().address());
            }
        }
        return matching;
    }

    /**
     * For a selector that matched nothing: the values the inventory does have for its keys, e.g.
     * {@code app: api, app: worker}, or empty when no entry has any of its keys.
     */
    String valuesFor(Map<String, String> selector) {
        Set<String> seen = new LinkedHashSet<>();
        for (Entry e : entries) {
            for (String key : selector.keySet()) {
                String value = e.endpoint().labels().get(key);
                if (value != null) {
                    seen.add(key + ": " + value);
                }
            }
        }
        return String.join(", ", seen);
    }

    /** Entries no cluster selected: they get no traffic, which is rarely what was meant. */
    List<Entry> unselected() {
        return entries.stream().filter(e -> !selected.contains(e.endpoint().address())).toList();
    }
}
