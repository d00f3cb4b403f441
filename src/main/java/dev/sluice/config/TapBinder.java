package dev.sluice.config;

import dev.sluice.config.YamlNode.Kind;
import dev.sluice.config.YamlNode.Scalar;
import dev.sluice.http.FieldSyntax;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Binds the two taps on a route's traffic: {@code routes[].mirror} (copies to another cluster)
 * and {@code routes[].record} (exchanges written to files).
 */
final class TapBinder {
    private static final List<String> MIRROR_KEYS = List.of("cluster", "fraction", "max_body", "host_suffix",
            "max_in_flight", "timeout");
    private static final List<String> RECORD_KEYS = List.of("path", "fraction", "max_body", "redact", "rotate");
    private static final List<String> ROTATE_KEYS = List.of("size", "keep");

    private final Values values;

    TapBinder(Values values) {
        this.values = values;
    }

    /**
     * @param routeCluster the route's own cluster: a mirror to it would double the route's load
     * @param clusters the defined cluster names, or empty when the clusters section is broken
     */
    Optional<MirrorConfig> mirror(YamlNode node, String path, String routeCluster, Optional<Set<String>> clusters) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, MIRROR_KEYS, values.problems());
        Optional<YamlNode> clusterNode = f.required("cluster");
        Optional<String> cluster = clusterNode.flatMap(n -> values.name(n, f.path("cluster")));
        if (cluster.isPresent() && clusters.isPresent() && !clusters.get().contains(cluster.get())) {
            values.problems().add(clusterNode.get().at(), f.path("cluster") + ": undefined cluster '" + cluster.get()
                    + "'" + Suggestions.didYouMean(cluster.get(), clusters.get()));
        } else if (cluster.isPresent() && cluster.get().equals(routeCluster)) {
            values.problems().add(clusterNode.get().at(), f.path("cluster") + ": '" + routeCluster + "' is the route's "
                    + "own cluster; a mirror copies traffic to another one (a staging cluster)");
        }
        double fraction = f.optional("fraction").flatMap(n -> fraction(n, f.path("fraction")))
                .orElse(MirrorConfig.DEFAULT_FRACTION);
        long maxBody = f.optional("max_body").flatMap(n -> size(n, f.path("max_body"))).map(Integer::longValue)
                .orElse(MirrorConfig.DEFAULT_MAX_BODY);
        String suffix = f.optional("host_suffix").flatMap(n -> values.parsed(n, f.path("host_suffix"),
                "a suffix like -shadow", TapBinder::hostSuffix)).orElse(MirrorConfig.DEFAULT_HOST_SUFFIX);
        int maxInFlight = f.optional("max_in_flight").flatMap(n -> values.integer(n, f.path("max_in_flight"), 1, 100_000))
                .orElse(MirrorConfig.DEFAULT_MAX_IN_FLIGHT);
        Duration timeout = f.optional("timeout").flatMap(n -> values.duration(n, f.path("timeout")))
                .orElse(MirrorConfig.DEFAULT_TIMEOUT);
        if (timeout.isZero() || timeout.isNegative()) {
            values.problems().add(f.keyAt("timeout"), f.path("timeout") + ": must be above 0");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new MirrorConfig(cluster.get(), fraction, maxBody, suffix, maxInFlight, timeout));
    }

    Optional<RecordConfig> record(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, RECORD_KEYS, values.problems());
        Optional<Path> directory = f.required("path").flatMap(n -> values.parsed(n, f.path("path"), "a directory",
                TapBinder::directory));
        double fraction = f.optional("fraction").flatMap(n -> fraction(n, f.path("fraction")))
                .orElse(RecordConfig.DEFAULT_FRACTION);
        int maxBody = f.optional("max_body").flatMap(n -> size(n, f.path("max_body"))).orElse(RecordConfig.DEFAULT_MAX_BODY);
        List<String> redact = f.optional("redact").map(n -> redact(n, f.path("redact"))).orElse(RecordConfig.DEFAULT_REDACT);
        long rotateSize = RecordConfig.DEFAULT_ROTATE_SIZE;
        int rotateKeep = RecordConfig.DEFAULT_ROTATE_KEEP;
        Optional<YamlNode.Mapping> rotate = f.optional("rotate").flatMap(n -> values.map(n, f.path("rotate")));
        if (rotate.isPresent()) {
            Fields r = Fields.of(rotate.get(), f.path("rotate"), ROTATE_KEYS, values.problems());
            rotateSize = r.optional("size").flatMap(n -> size(n, r.path("size"))).map(Integer::longValue).orElse(rotateSize);
            rotateKeep = r.optional("keep").flatMap(n -> values.integer(n, r.path("keep"), 1, 10_000)).orElse(rotateKeep);
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new RecordConfig(directory.get(), fraction, maxBody, redact, rotateSize, rotateKeep));
    }

    private List<String> redact(YamlNode node, String path) {
        List<String> names = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                values.parsed(list.items().get(i), Paths.item(path, i), "a field name like authorization",
                        text -> FieldSyntax.isToken(text) ? Parsed.ok(text.toLowerCase(Locale.ROOT))
                                : Parsed.invalid("'" + text + "' is not a field name")).ifPresent(names::add);
            }
        });
        return names;
    }

    private static Parsed<Path> directory(String text) {
        Path p = Path.of(text);
        if (Files.exists(p) && !Files.isDirectory(p)) {
            return Parsed.invalid("'" + text + "' exists and is not a directory");
        }
        return Parsed.ok(p);
    }

    /** Characters that may follow a host name's labels: letters, digits, '-' and '.'. */
    private static Parsed<String> hostSuffix(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.')) {
                return Parsed.invalid("'" + text + "' must hold only letters, digits, '-' and '.': it goes into the Host");
            }
        }
        return Parsed.ok(text);
    }

    private Optional<Integer> size(YamlNode node, String path) {
        if (node instanceof Scalar s && s.kind() == Kind.INTEGER) {
            return values.integer(node, path, 0, Integer.MAX_VALUE);
        }
        return values.parsed(node, path, "a size like 65536 or 1MiB", Sizes::parse);
    }

    /** A plain YAML number from 0 to 1. */
    private Optional<Double> fraction(YamlNode node, String path) {
        if (!(node instanceof Scalar s) || (s.kind() != Kind.DECIMAL && s.kind() != Kind.INTEGER)) {
            values.invalid(node, path, "expected a number from 0 to 1 like 0.1, got " + node.describe());
            return Optional.empty();
        }
        double value;
        try {
            value = Double.parseDouble(s.text());
        } catch (NumberFormatException e) {
            values.invalid(node, path, "write '" + s.text() + "' as a plain decimal number like 0.1");
            return Optional.empty();
        }
        if (!(value >= 0 && value <= 1)) {
            values.invalid(node, path, s.text() + " is out of range; it must be from 0 to 1");
            return Optional.empty();
        }
        return Optional.of(value);
    }
}
