package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Binds {@code redis: { address, timeout, replicas }}, and refuses a {@code scope: global} rate
 * limit when there is no Redis to share it through.
 */
final class RedisBinder {
    private static final List<String> KEYS = List.of("address", "timeout", "replicas");
    private static final String PATH = "redis";

    private final Values values;

    RedisBinder(Values values) {
        this.values = values;
    }

    Optional<RedisConfig> bind(YamlNode node) {
        return values.map(node, PATH).flatMap(map -> {
            int before = values.problems().count();
            Fields f = Fields.of(map, PATH, KEYS, values.problems());
            Optional<HostPort> address = f.required("address").flatMap(n -> values.address(n, f.path("address"), 1));
            Optional<YamlNode> timeoutNode = f.optional("timeout");
            Duration timeout = timeoutNode.flatMap(n -> values.duration(n, f.path("timeout")))
                    .orElse(RedisConfig.DEFAULT_TIMEOUT);
            timeoutNode.filter(n -> timeout.compareTo(RedisConfig.MOST_TIMEOUT) > 0).ifPresent(n ->
                    values.invalid(n, f.path("timeout"), Durations.format(timeout) + " is longer than "
                            + Durations.format(RedisConfig.MOST_TIMEOUT) + ": every request of a global rate limit "
                            + "would wait that long each time Redis goes down; a working Redis answers in milliseconds"));
            OptionalInt replicas = f.optional("replicas")
                    .flatMap(n -> values.integer(n, f.path("replicas"), 1, RedisConfig.MOST_REPLICAS))
                    .map(OptionalInt::of).orElse(OptionalInt.empty());
            if (values.problems().count() > before) {
                return Optional.empty();
            }
            return Optional.of(new RedisConfig(address.get(), timeout, replicas));
        });
    }

    /** Each {@code scope: global} written in a route's rate limits, when the config has no {@code redis:}. */
    void refuseGlobalScopes(List<RateLimitBinder.GlobalScope> scopes) {
        for (RateLimitBinder.GlobalScope scope : scopes) {
            values.invalid(scope.node(), scope.path(), "scope: global shares the limit through Redis, and this config "
                    + "has no 'redis:' section; add one (redis: { address: host:port }), or write scope: local to "
                    + "limit each Sluice on its own");
        }
    }
}
