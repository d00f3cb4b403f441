package dev.sluice.config;

import java.util.List;

/**
 * A route's response compression ({@code routes[].compress}): which encodings Sluice may apply to
 * a backend's response body, to which media types, from what size, and how hard it tries.
 *
 * @param encodings the encodings offered, most preferred first; a client's q-values decide, and this
 *     order breaks ties
 * @param types media types compressed: {@code type/subtype}, or {@code type/*} for a whole
 *     top-level type; lower case, without parameters
 * @param minSize bodies whose {@code Content-Length} is below this are sent as they are; a body
 *     of unknown length is compressed
 * @param gzipLevel zlib's level, 1 (fastest) to 9 (smallest)
 * @param brotliLevel brotli's quality, 0 (fastest) to 11 (smallest)
 */
public record CompressionConfig(List<Encoding> encodings, List<String> types, int minSize, int gzipLevel, int brotliLevel) {

    /** A content coding Sluice can apply (RFC 9110 §8.4.1), by the token a client names it with. */
    public enum Encoding {
        BR("br"), GZIP("gzip");

        private final String token;

        Encoding(String token) {
            this.token = token;
        }

        /** The token in {@code Accept-Encoding} and {@code Content-Encoding}. */
        public String token() {
            return token;
        }
    }

    /**
     * br, then gzip: every browser that sends {@code br} sends {@code gzip} too, and at the
     * default levels brotli is both smaller and faster than gzip; gzip serves everyone else
     * (curl {@code --compressed}, HTTP libraries, older clients).
     */
    public static final List<Encoding> DEFAULT_ENCODINGS = List.of(Encoding.BR, Encoding.GZIP);

    /**
     * Text, and the text-based formats of the web (Caddy's default list, less the legacy font and
     * CGI types): what compresses well. Images, video, archives and fonts in WOFF/WOFF2 are
     * compressed already; compressing them again costs CPU and saves nothing.
     */
    public static final List<String> DEFAULT_TYPES = List.of(
            "text/*",
            "application/json", "application/ld+json", "application/geo+json", "application/problem+json",
            "application/manifest+json", "application/vnd.api+json", "application/graphql-response+json",
            "application/javascript", "application/x-javascript", "application/ecmascript",
            "application/xml", "application/xhtml+xml", "application/rss+xml", "application/atom+xml",
            "application/wasm", "application/x-protobuf",
            "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
            "font/ttf", "font/otf", "application/vnd.ms-fontobject");

    /**
     * 1 KiB: a smaller body and its head fit in one TCP segment (MSS ~1460) as they are, so
     * compressing saves no round trip, while gzip's own 18 bytes and the CPU are spent anyway
     * (Caddy's default is 512, Akamai's 860; nginx's 20 compresses nearly everything).
     */
    public static final int DEFAULT_MIN_SIZE = 1024;

    /**
     * 5: Caddy's default; levels above it shrink text by 1-3% more for up to twice the CPU. (zlib's
     * own default is 6, nginx's gzip_comp_level 1.)
     */
    public static final int DEFAULT_GZIP_LEVEL = 5;

    /**
     * 4: what Cloudflare uses for on-the-fly brotli. Already smaller than gzip at 5 and faster;
     * above 5 brotli's speed falls steeply (11 is for files compressed once, ahead of time).
     */
    public static final int DEFAULT_BROTLI_LEVEL = 4;

    public static final CompressionConfig DEFAULT = new CompressionConfig(DEFAULT_ENCODINGS, DEFAULT_TYPES,
            DEFAULT_MIN_SIZE, DEFAULT_GZIP_LEVEL, DEFAULT_BROTLI_LEVEL);

    public CompressionConfig {
        encodings = List.copyOf(encodings);
        types = List.copyOf(types);
        if (encodings.isEmpty()) {
            throw new IllegalArgumentException("at least one coding is needed");
        }
        if (gzipLevel < 1 || gzipLevel > 9 || brotliLevel < 0 || brotliLevel > 11 || minSize < 0) {
            throw new IllegalArgumentException("level or min_size out of range: " + gzipLevel + ", " + brotliLevel + ", "
                    + minSize);
        }
    }
}
