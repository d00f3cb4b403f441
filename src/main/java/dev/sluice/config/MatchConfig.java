package dev.sluice.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a route matches ({@code routes[].match}). Every given condition must hold.
 *
 * @param host exact host, or {@code *.example.com} for any subdomain; compared without port,
 *     case-insensitively
 * @param pathPrefix path starts with this (segment-agnostic, like nginx's {@code location /x})
 * @param path path equals this exactly (query excluded)
 * @param methods upper-case methods; empty means any
 * @param headers header name (lower case) to exact value; all must be present and equal
 */
public record MatchConfig(
        Optional<String> host,
        Optional<String> pathPrefix,
        Optional<String> path,
        List<String> methods,
        Map<String, String> headers) {

    public MatchConfig {
        methods = List.copyOf(methods);
        headers = Map.copyOf(headers);
    }

    public static MatchConfig prefix(String prefix) {
        return new MatchConfig(Optional.empty(), Optional.of(prefix), Optional.empty(), List.of(), Map.of());
    }
}
