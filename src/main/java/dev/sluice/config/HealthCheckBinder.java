package dev.sluice.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Binds {@code clusters[].health_check}. */
final class HealthCheckBinder {
    private static final List<String> KEYS = List.of("path", "host", "interval", "timeout", "healthy_threshold",
            "unhealthy_threshold", "expect");
    private static final List<String> EXPECT_KEYS = List.of("status", "headers", "body");

    private final Values values;

    HealthCheckBinder(Values values) {
        this.values = values;
    }

    Optional<HealthCheckConfig> bind(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<String> checkPath = f.required("path").flatMap(n -> values.text(n, f.path("path")));
        checkPath.filter(p -> !p.startsWith("/")).ifPresent(p ->
                values.problems().add(f.keyAt("path"), f.path("path") + ": must start with '/'"));
        Optional<String> host = f.optional("host").flatMap(n -> values.text(n, f.path("host")));
        Duration interval = f.optional("interval").flatMap(n -> values.duration(n, f.path("interval")))
                .orElse(HealthCheckConfig.DEFAULT_INTERVAL);
        Duration timeout = f.optional("timeout").flatMap(n -> values.duration(n, f.path("timeout")))
                .orElse(HealthCheckConfig.DEFAULT_TIMEOUT);
        int healthy = f.optional("healthy_threshold")
                .flatMap(n -> values.integer(n, f.path("healthy_threshold"), 1, 100))
                .orElse(HealthCheckConfig.DEFAULT_HEALTHY_THRESHOLD);
        int unhealthy = f.optional("unhealthy_threshold")
                .flatMap(n -> values.integer(n, f.path("unhealthy_threshold"), 1, 100))
                .orElse(HealthCheckConfig.DEFAULT_UNHEALTHY_THRESHOLD);
        int[] status = {200, 399};
        Map<String, String> headers = new LinkedHashMap<>();
        Optional<String>[] body = new Optional[] {Optional.empty()};
        f.optional("expect").flatMap(n -> values.map(n, f.path("expect"))).ifPresent(expect -> {
            Fields e = Fields.of(expect, f.path("expect"), EXPECT_KEYS, values.problems());
            e.optional("status").flatMap(n -> values.parsed(n, e.path("status"), "a status like 200 or a range like 200-399",
                    HealthCheckBinder::statusRange)).ifPresent(r -> {
                        status[0] = r[0];
                        status[1] = r[1];
                    });
            e.optional("headers").flatMap(n -> values.map(n, e.path("headers"))).ifPresent(h -> h.entries().forEach(
                    (k, v) -> values.text(v.value(), Paths.child(e.path("headers"), k))
                            .ifPresent(text -> headers.put(k.toLowerCase(Locale.ROOT), text))));
            body[0] = e.optional("body").flatMap(n -> values.text(n, e.path("body")));
        });
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new HealthCheckConfig(checkPath.get(), host, interval, timeout, healthy, unhealthy,
                status[0], status[1], headers, body[0]));
    }

    private static Parsed<int[]> statusRange(String text) {
        String[] parts = text.split("-", 2);
        try {
            int low = Integer.parseInt(parts[0].trim());
            int high = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : low;
            if (low < 100 || high > 599 || low > high) {
                return Parsed.invalid("status range '" + text + "' must lie within 100-599, low to high");
            }
            return Parsed.ok(new int[] {low, high});
        } catch (NumberFormatException e) {
            return Parsed.invalid("invalid status '" + text + "': use e.g. 200 or 200-399");
        }
    }
}
