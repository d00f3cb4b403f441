package dev.sluice.route;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import dev.sluice.config.CompressionConfig;
import dev.sluice.config.CompressionConfig.Encoding;
import dev.sluice.http.AcceptEncoding;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A route's compression, compiled once: which media types it compresses, from what size, and
 * which encoding a client's {@code Accept-Encoding} gets. The respond step asks it about each
 * response ({@code exchange.ResponseCompression}); a route without {@code compress} has
 * {@link #NONE}, which it never asks.
 */
public final class Compression {
    public static final Compression NONE = new Compression();

    private static final Optional<Encoding> BR = Optional.of(Encoding.BR);
    private static final Optional<Encoding> GZIP = Optional.of(Encoding.GZIP);

    private final Encoding[] encodings;
    private final Set<String> exactTypes;
    /** For {@code text/*}: "text/". */
    private final String[] typePrefixes;
    private final int minSize;
    private final int gzipLevel;
    private final int brotliLevel;

    private Compression() {
        this.encodings = new Encoding[0];
        this.exactTypes = Set.of();
        this.typePrefixes = new String[0];
        this.minSize = Integer.MAX_VALUE;
        this.gzipLevel = CompressionConfig.DEFAULT_GZIP_LEVEL;
        this.brotliLevel = CompressionConfig.DEFAULT_BROTLI_LEVEL;
    }

    public Compression(CompressionConfig config) {
        this.encodings = config.encodings().stream().filter(e -> e != Encoding.BR || Brotli.AVAILABLE)
                .toArray(Encoding[]::new);
        Set<String> exact = new HashSet<>();
        List<String> prefixes = new ArrayList<>();
        for (String type : config.types()) {
            if (type.endsWith("/*")) {
                prefixes.add(type.substring(0, type.length() - 1));
            } else {
                exact.add(type);
            }
        }
        this.exactTypes = Set.copyOf(exact);
        this.typePrefixes = prefixes.toArray(String[]::new);
        this.minSize = config.minSize();
        this.gzipLevel = config.gzipLevel();
        this.brotliLevel = config.brotliLevel();
    }

    /** Whether the route compresses at all: it has {@code compress} and an encoding it can apply. */
    public boolean on() {
        return encodings.length > 0;
    }

    /** Whether a body of {@code Content-Type} {@code contentType} is compressed; parameters ({@code ; charset=}) are ignored. */
    public boolean compressesType(CharSequence contentType) {
        int end = contentType.length();
        for (int i = 0; i < end; i++) {
            if (contentType.charAt(i) == ';') {
                end = i;
                break;
            }
        }
        String type = contentType.subSequence(0, end).toString().strip().toLowerCase(java.util.Locale.ROOT);
        if (exactTypes.contains(type)) {
            return true;
        }
        for (String prefix : typePrefixes) {
            if (type.startsWith(prefix) && type.length() > prefix.length()) {
                return true;
            }
        }
        return false;
    }

    /** Bodies shorter than this (by their {@code Content-Length}) are sent as they are. */
    public int minSize() {
        return minSize;
    }

    /**
     * The encoding for a client that sent {@code acceptEncoding}: the one it gives the highest
     * q-value above 0, the route's order breaking ties; empty when it accepts none of them.
     */
    public Optional<Encoding> choose(CharSequence acceptEncoding) {
        Encoding best = null;
        int bestQuality = AcceptEncoding.NOT_ACCEPTABLE;
        for (Encoding e : encodings) {
            int q = AcceptEncoding.quality(acceptEncoding, e.token());
            if (q > bestQuality) {
                best = e;
                bestQuality = q;
            }
        }
        if (best == null) {
            return Optional.empty();
        }
        return best == Encoding.BR ? BR : GZIP;
    }

    /**
     * Brotli is a native library, loaded (extracted to {@code java.io.tmpdir}, removed at a clean
     * exit) the first time a route offers it, never by a Sluice that does not; where it cannot
     * load, a route offers its other encodings.
     */
    private static final class Brotli {
        static final boolean AVAILABLE = Brotli4jLoader.isAvailable();
    }

    public int gzipLevel() {
        return gzipLevel;
    }

    public int brotliLevel() {
        return brotliLevel;
    }
}
