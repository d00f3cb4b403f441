package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CompressionConfig;
import dev.sluice.config.CompressionConfig.Encoding;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A route's compiled compression: which types it takes, and which encoding a client gets. */
class CompressionTest {
    private static final Compression DEFAULTS = new Compression(CompressionConfig.DEFAULT);

    private static Compression with(List<Encoding> encodings, List<String> types) {
        return new Compression(new CompressionConfig(encodings, types, 1024, 5, 4));
    }

    @Test
    void typesMatchExactlyOrByTopLevelTypeIgnoringParametersAndCase() {
        Compression c = with(List.of(Encoding.GZIP), List.of("application/json", "text/*"));
        assertThat(c.compressesType("application/json")).isTrue();
        assertThat(c.compressesType("Application/JSON; charset=utf-8")).isTrue();
        assertThat(c.compressesType("text/html;charset=UTF-8")).isTrue();
        assertThat(c.compressesType(" text/css ")).isTrue();
        assertThat(c.compressesType("application/json-seq")).isFalse();
        assertThat(c.compressesType("image/png")).isFalse();
        assertThat(c.compressesType("text/")).isFalse();
        assertThat(c.compressesType("")).isFalse();
    }

    @Test
    void theDefaultTypesAreTextLikeAndLeaveCompressedFormatsAlone() {
        assertThat(DEFAULTS.compressesType("text/html")).isTrue();
        assertThat(DEFAULTS.compressesType("application/javascript")).isTrue();
        assertThat(DEFAULTS.compressesType("image/svg+xml")).isTrue();
        assertThat(DEFAULTS.compressesType("image/jpeg")).isFalse();
        assertThat(DEFAULTS.compressesType("application/zip")).isFalse();
        assertThat(DEFAULTS.compressesType("font/woff2")).isFalse();
        assertThat(DEFAULTS.compressesType("application/octet-stream")).isFalse();
    }

    @Test
    void theClientsHighestQValueWinsAndTheRoutesOrderBreaksTies() {
        Compression brFirst = with(List.of(Encoding.BR, Encoding.GZIP), List.of("text/*"));
        Compression gzipFirst = with(List.of(Encoding.GZIP, Encoding.BR), List.of("text/*"));
        assertThat(brFirst.choose("gzip, deflate, br")).contains(Encoding.BR);
        assertThat(gzipFirst.choose("gzip, deflate, br")).contains(Encoding.GZIP);
        assertThat(brFirst.choose("gzip;q=1, br;q=0.8")).contains(Encoding.GZIP);
        assertThat(brFirst.choose("br;q=0, gzip;q=0.1")).contains(Encoding.GZIP);
        assertThat(brFirst.choose("*;q=0.2")).contains(Encoding.BR);
    }

    @Test
    void aClientThatAcceptsNoneOfTheRoutesEncodingsGetsNone() {
        Compression gzipOnly = with(List.of(Encoding.GZIP), List.of("text/*"));
        assertThat(gzipOnly.choose("br")).isEqualTo(Optional.empty());
        assertThat(gzipOnly.choose("gzip;q=0")).isEmpty();
        assertThat(gzipOnly.choose("identity")).isEmpty();
        assertThat(gzipOnly.choose("")).isEmpty();
    }

    @Test
    void noneIsOffAndARouteWithEncodingsIsOn() {
        assertThat(Compression.NONE.on()).isFalse();
        assertThat(DEFAULTS.on()).isTrue();
    }
}
