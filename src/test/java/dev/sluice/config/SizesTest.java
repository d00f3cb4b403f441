package dev.sluice.config;

import static dev.sluice.config.ParsedAssert.reason;
import static dev.sluice.config.ParsedAssert.value;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SizesTest {

    @Test
    void sizesAreBytesOrBinaryUnits() {
        assertThat(value(Sizes.parse("8192"))).isEqualTo(8192);
        assertThat(value(Sizes.parse("64KiB"))).isEqualTo(64 * 1024);
        assertThat(value(Sizes.parse("1MiB"))).isEqualTo(1024 * 1024);
    }

    @Test
    void ambiguousDecimalUnitsAreRefused() {
        assertThat(reason(Sizes.parse("64KB")))
                .isEqualTo("invalid size '64KB': use a number of bytes, or KiB or MiB, e.g. 65536 or 64KiB");
        assertThat(reason(Sizes.parse("64k"))).startsWith("invalid size '64k'");
        assertThat(reason(Sizes.parse("1.5MiB"))).startsWith("invalid size '1.5MiB'");
    }

    @Test
    void zeroAndTooLargeAreRefused() {
        assertThat(reason(Sizes.parse("0KiB"))).isEqualTo("invalid size '0KiB': must be at least 1 byte");
        assertThat(reason(Sizes.parse("2048MiB"))).isEqualTo("invalid size '2048MiB': too large");
        assertThat(reason(Sizes.parse("99999999999999999999"))).isEqualTo("invalid size '99999999999999999999': too large");
    }
}
