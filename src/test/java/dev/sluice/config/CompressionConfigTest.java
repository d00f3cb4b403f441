package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CompressionConfig.Encoding;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** routes[].compress: true, false or a map; each key's default, and each mistake located. */
class CompressionConfigTest {

    /** One route (lines 3 on) after the listener, with a cluster 'app' defined after it. */
    private static String route(String route) {
        return "listeners:\n  - address: 127.0.0.1:8080\nroutes:\n" + route.indent(2)
                + "clusters:\n  - name: app\n    endpoints: [127.0.0.1:9001]\n";
    }

    private static Optional<CompressionConfig> compress(String value) throws ConfigException {
        return ConfigLoader.parse(route("- match: { path_prefix: / }\n  cluster: app\n  compress: " + value + "\n"),
                "test.yaml").routes().get(0).compress();
    }

    @Test
    void aRouteDoesNotCompressUnlessAskedTo() throws Exception {
        RouteConfig r = ConfigLoader.parse(route("- match: { path_prefix: / }\n  cluster: app\n"), "test.yaml")
                .routes().get(0);
        assertThat(r.compress()).isEmpty();
        assertThat(compress("false")).isEmpty();
    }

    @Test
    void trueAndAnEmptyMapTakeEveryDefault() throws Exception {
        assertThat(compress("true")).contains(CompressionConfig.DEFAULT);
        assertThat(compress("{}")).contains(CompressionConfig.DEFAULT);
        assertThat(CompressionConfig.DEFAULT.encodings()).containsExactly(Encoding.BR, Encoding.GZIP);
        assertThat(CompressionConfig.DEFAULT.minSize()).isEqualTo(1024);
        assertThat(CompressionConfig.DEFAULT.gzipLevel()).isEqualTo(5);
        assertThat(CompressionConfig.DEFAULT.brotliLevel()).isEqualTo(4);
        assertThat(CompressionConfig.DEFAULT.types()).contains("text/*", "application/json").doesNotContain("image/png");
    }

    @Test
    void everyKeyBindsToItsRecord() throws Exception {
        assertThat(compress("{ encodings: [gzip], types: [application/json, Text/*], min_size: 2KiB, gzip_level: 1, "
                + "brotli_level: 11 }"))
                .contains(new CompressionConfig(List.of(Encoding.GZIP), List.of("application/json", "text/*"), 2048, 1, 11));
        assertThat(compress("{ min_size: 0 }").orElseThrow().minSize()).isZero();
    }

    @Test
    void mistakesAreLocated() {
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  compress: { encodings: [gzip, zstd, gzip] }\n")))
                .containsExactly("6:35: routes[0].compress.encodings[1]: 'zstd' is not an encoding Sluice applies; use br or gzip",
                        "6:41: routes[0].compress.encodings[2]: 'gzip' is listed twice (first at 6:29)");
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  compress: { types: [text/html; charset=utf-8, png] }\n")))
                .containsExactly("6:25: routes[0].compress.types[0]: 'text/html; charset=utf-8': write the media type "
                                + "without parameters ('text/html' matches it with any charset)",
                        "6:51: routes[0].compress.types[1]: 'png' is not a media type like text/html, or text/* for every text type");
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  compress: { gzip_level: 10, levle: 3 }\n")))
                .containsExactly("6:29: routes[0].compress.gzip_level: 10 is out of range; it must be between 1 and 9",
                        "6:33: unknown key 'levle' in routes[0].compress (allowed: encodings, types, min_size, gzip_level, "
                                + "brotli_level)");
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  compress: gzip\n")))
                .containsExactly("6:15: routes[0].compress: expected true, false or a map of encodings, types, min_size, "
                        + "gzip_level, brotli_level, got the string 'gzip'");
    }

    @Test
    void aRouteThatAnswersByItselfHasNothingToCompress() {
        assertThat(problems(route("- match: { path: /a }\n  respond: { body: hi }\n  compress: true\n")))
                .containsExactly("6:5: routes[0].compress: only for a route with a cluster; this route answers by itself "
                        + "('respond')");
    }
}
