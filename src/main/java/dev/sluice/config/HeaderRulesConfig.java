package dev.sluice.config;

import java.util.List;
import java.util.Map;

/**
 * A route's edits of the request or the response header ({@code routes[].request_headers},
 * {@code routes[].response_headers}), applied in this order: remove, set, add.
 *
 * @param remove lower-case names of fields removed
 * @param set lower-case name to value: replaces every field of that name
 * @param add lower-case name to value: one more field, after any of the same name
 */
public record HeaderRulesConfig(List<String> remove, Map<String, TemplateConfig> set, Map<String, TemplateConfig> add) {

    public HeaderRulesConfig {
        remove = List.copyOf(remove);
        set = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(set));
        add = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(add));
    }

    public static final HeaderRulesConfig NONE = new HeaderRulesConfig(List.of(), Map.of(), Map.of());

    public boolean isEmpty() {
        return remove.isEmpty() && set.isEmpty() && add.isEmpty();
    }
}
