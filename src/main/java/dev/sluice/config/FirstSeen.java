package dev.sluice.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Remembers where each name was first defined, so a duplicate's error can point at both places. */
final class FirstSeen<K> {
    private final Map<K, Position> first = new LinkedHashMap<>();

    /** Records {@code key} at {@code at}, or returns where it was already defined. */
    Optional<Position> claim(K key, Position at) {
        return Optional.ofNullable(first.putIfAbsent(key, at));
    }

    Optional<Position> firstAt(K key) {
        return Optional.ofNullable(first.get(key));
    }

    Set<K> keys() {
        return first.keySet();
    }
}
