package dev.sluice.config;

import dev.sluice.config.CompressionConfig.Encoding;
import dev.sluice.http.FieldSyntax;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Binds {@code routes[].compress}: {@code true} (every default), {@code false} (off, as when
 * absent), or a map of {@code encodings}, {@code types}, {@code min_size}, {@code gzip_level} and
 * {@code brotli_level}.
 */
final class CompressionBinder {
    private static final List<String> KEYS = List.of("encodings", "types", "min_size", "gzip_level", "brotli_level");

    private final Values values;

    CompressionBinder(Values values) {
        this.values = values;
    }

    Optional<CompressionConfig> bind(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && (s.kind() == YamlNode.Kind.TRUE || s.kind() == YamlNode.Kind.FALSE)) {
            return s.kind() == YamlNode.Kind.TRUE ? Optional.of(CompressionConfig.DEFAULT) : Optional.empty();
        }
        if (!(node instanceof YamlNode.Mapping)) {
            values.invalid(node, path, "expected true, false or a map of " + String.join(", ", KEYS) + ", got "
                    + node.describe());
            return Optional.empty();
        }
        YamlNode.Mapping map = (YamlNode.Mapping) node;
        int before = values.problems().count();
        Fields f = Fields.of(map, path, KEYS, values.problems());
        List<Encoding> encodings = f.optional("encodings").map(n -> encodings(n, f.path("encodings")))
                .orElse(CompressionConfig.DEFAULT_ENCODINGS);
        List<String> types = f.optional("types").map(n -> types(n, f.path("types"))).orElse(CompressionConfig.DEFAULT_TYPES);
        int minSize = f.optional("min_size").flatMap(n -> minSize(n, f.path("min_size")))
                .orElse(CompressionConfig.DEFAULT_MIN_SIZE);
        int gzip = f.optional("gzip_level").flatMap(n -> values.integer(n, f.path("gzip_level"), 1, 9))
                .orElse(CompressionConfig.DEFAULT_GZIP_LEVEL);
        int brotli = f.optional("brotli_level").flatMap(n -> values.integer(n, f.path("brotli_level"), 0, 11))
                .orElse(CompressionConfig.DEFAULT_BROTLI_LEVEL);
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new CompressionConfig(encodings, types, minSize, gzip, brotli));
    }

    private List<Encoding> encodings(YamlNode node, String path) {
        List<Encoding> encodings = new ArrayList<>();
        FirstSeen<Encoding> seen = new FirstSeen<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "name at least one of br, gzip (or write 'compress: false')");
            }
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String itemPath = Paths.item(path, i);
                values.parsed(item, itemPath, "br or gzip", CompressionBinder::encoding).ifPresent(e -> {
                    Optional<Position> first = seen.claim(e, item.at());
                    if (first.isPresent()) {
                        values.invalid(item, itemPath, "'" + e.token() + "' is listed twice (first at "
                                + first.get() + ")");
                    } else {
                        encodings.add(e);
                    }
                });
            }
        });
        return encodings.isEmpty() ? CompressionConfig.DEFAULT_ENCODINGS : encodings;
    }

    private static Parsed<Encoding> encoding(String text) {
        for (Encoding e : Encoding.values()) {
            if (e.token().equals(text.toLowerCase(Locale.ROOT))) {
                return Parsed.ok(e);
            }
        }
        return Parsed.invalid("'" + text + "' is not an encoding Sluice applies; use br or gzip"
                + Suggestions.didYouMean(text, Arrays.stream(Encoding.values()).map(Encoding::token).toList()));
    }

    private List<String> types(YamlNode node, String path) {
        List<String> types = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, path, "name at least one media type (or write 'compress: false')");
            }
            for (int i = 0; i < list.items().size(); i++) {
                values.parsed(list.items().get(i), Paths.item(path, i), "a media type like text/html or text/*",
                        CompressionBinder::mediaRange).ifPresent(types::add);
            }
        });
        return types;
    }

    /** {@code type/subtype} or {@code type/*}, lower-cased; parameters are not compared, so none may be given. */
    private static Parsed<String> mediaRange(String text) {
        int slash = text.indexOf('/');
        String type = slash < 0 ? text : text.substring(0, slash);
        String subtype = slash < 0 ? "" : text.substring(slash + 1);
        if (text.indexOf(';') >= 0) {
            return Parsed.invalid("'" + text + "': write the media type without parameters ('"
                    + text.substring(0, text.indexOf(';')).strip() + "' matches it with any charset)");
        }
        if (!FieldSyntax.isToken(type) || !(subtype.equals("*") || FieldSyntax.isToken(subtype))) {
            return Parsed.invalid("'" + text + "' is not a media type like text/html, or text/* for every text type");
        }
        return Parsed.ok(text.toLowerCase(Locale.ROOT));
    }

    private Optional<Integer> minSize(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Kind.INTEGER) {
            return values.integer(node, path, 0, Integer.MAX_VALUE);
        }
        return values.parsed(node, path, "a size like 1024 or 1KiB", Sizes::parse);
    }
}
