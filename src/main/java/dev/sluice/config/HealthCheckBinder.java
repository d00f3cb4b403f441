package dev.sluice.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Binds {@code clusters[].health_check}: an HTTP check ({@code path}) or a gRPC one
 * ({@code grpc}), which only a cluster that speaks HTTP/2 can have.
 */
final class HealthCheckBinder {
    private static final List<String> KEYS = List.of("path", "grpc", "host", "interval", "timeout", "healthy_threshold",
            "unhealthy_threshold", "expect");
    private static final List<String> EXPECT_KEYS = List.of("status", "headers", "body");
    private static final List<String> GRPC_KEYS = List.of("service");

    private final Values values;

    HealthCheckBinder(Values values) {
        this.values = values;
    }

    /** @param protocol what the cluster speaks (a gRPC check needs HTTP/2); empty when it was refused */
    Optional<HealthCheckConfig> bind(YamlNode node, String path, Optional<ClusterConfig.Protocol> protocol) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<String> grpcService = f.optional("grpc").flatMap(n -> grpc(n, f.path("grpc"), protocol));
        Optional<String> checkPath;
        if (f.optional("grpc").isPresent()) {
            // The method is the protocol's own; a path beside it would be ignored, so it is a mistake.
            f.optional("path").ifPresent(n -> values.invalid(n, f.path("path"), "a gRPC check calls "
                    + HealthCheckConfig.GRPC_PATH + "; remove 'path', or 'grpc' for an HTTP check"));
            checkPath = Optional.of(HealthCheckConfig.GRPC_PATH);
        } else {
            if (f.optional("path").isEmpty()) {
                values.problems().add(f.at(), "missing required key 'path' " + Paths.where(path)
                        + " (or 'grpc: {}' for gRPC's health checking protocol)");
            }
            checkPath = f.optional("path").flatMap(n -> values.text(n, f.path("path")));
        }
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
            if (f.optional("grpc").isPresent()) {
                // A gRPC answer is always 200 with a protobuf body: its serving status is the judgement.
                for (String key : List.of("status", "body")) {
                    e.optional(key).ifPresent(n -> values.invalid(n, e.path(key), "a gRPC check is judged by the "
                            + "serving status it answers, not by its HTTP " + key + "; only 'expect.headers' applies"));
                }
            }
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
                status[0], status[1], headers, body[0], grpcService));
    }

    /** {@code grpc: { service: NAME }}: the service asked about, {@code ""} (the whole server) when left out. */
    private Optional<String> grpc(YamlNode node, String path, Optional<ClusterConfig.Protocol> protocol) {
        if (protocol.isPresent() && !protocol.get().multiplexed()) {
            values.invalid(node, path, "gRPC is HTTP/2, and this cluster's protocol is " + protocol.get().text()
                    + "; set 'protocol: h2c' (or 'h2' with 'tls'), or check a 'path' over HTTP/1.1");
            return Optional.empty();
        }
        return values.map(node, path).map(grpc -> {
            Fields g = Fields.of(grpc, path, GRPC_KEYS, values.problems());
            return g.optional("service").flatMap(n -> values.text(n, g.path("service"))).orElse("");
        });
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
