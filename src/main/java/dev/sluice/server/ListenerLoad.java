package dev.sluice.server;

import dev.sluice.config.ListenerConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A listener's connections as {@code /status} and {@code /metrics} show them, read at one moment.
 *
 * @param connections client connections open now
 * @param maxConnections its limit (the share worked out for {@code auto})
 * @param maxConnectionsAuto the limit is {@code auto}, a share of the open-files limit
 * @param refused connections closed as they were accepted because the listener was full and no
 *     connection was waiting for its client, since the process started (kept across reloads for
 *     the same listener name)
 * @param evicted connections waiting for their clients (idle, or still sending a head) closed to
 *     make room for a new one at the limit, since the process started (kept likewise)
 * @param idleTimeout the idle timeout in force now: the configured one, or shorter under pressure
 */
public record ListenerLoad(String name, int connections, int maxConnections, boolean maxConnectionsAuto, long refused,
                           long evicted, Duration idleTimeout) {

    static ListenerLoad of(ListenerConfig config, ConnectionLimit limit) {
        return new ListenerLoad(config.name(), limit.open(), limit.max(), config.maxConnections().isEmpty(),
                limit.refused(), limit.evicted(), Duration.ofNanos(limit.idleTimeoutNanos()));
    }

    /** One value per listener name, for a per-listener gauge. */
    static Map<String, Number> byName(List<ListenerLoad> loads, Function<ListenerLoad, Number> value) {
        Map<String, Number> values = new LinkedHashMap<>();
        loads.forEach(load -> values.put(load.name(), value.apply(load)));
        return values;
    }
}
