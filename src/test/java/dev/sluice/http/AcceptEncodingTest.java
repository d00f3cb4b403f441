package dev.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Accept-Encoding's q-values as RFC 9110 §12.5.3 reads them. */
class AcceptEncodingTest {

    @Test
    void aNamedCodingWithoutAQValueIsFullyAccepted() {
        assertThat(AcceptEncoding.quality("gzip, deflate, br, zstd", "br")).isEqualTo(1000);
        assertThat(AcceptEncoding.quality("gzip, deflate, br, zstd", "gzip")).isEqualTo(1000);
    }

    @Test
    void qValuesAreReadInThousandths() {
        assertThat(AcceptEncoding.quality("gzip;q=0.5, br;q=0.25", "gzip")).isEqualTo(500);
        assertThat(AcceptEncoding.quality("gzip;q=0.5, br;q=0.25", "br")).isEqualTo(250);
        assertThat(AcceptEncoding.quality("gzip ; Q=0.125", "gzip")).isEqualTo(125);
        assertThat(AcceptEncoding.quality("gzip;q=1.000", "gzip")).isEqualTo(1000);
    }

    @Test
    void qZeroMeansNotAcceptable() {
        assertThat(AcceptEncoding.quality("gzip;q=0, br", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("gzip;q=0.000", "gzip")).isZero();
    }

    @Test
    void anUnnamedCodingTakesTheStarsQValueElseNone() {
        assertThat(AcceptEncoding.quality("*", "br")).isEqualTo(1000);
        assertThat(AcceptEncoding.quality("gzip;q=0, *;q=0.5", "br")).isEqualTo(500);
        assertThat(AcceptEncoding.quality("gzip;q=0, *;q=0.5", "gzip")).as("named beats *").isZero();
        assertThat(AcceptEncoding.quality("deflate", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("identity", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("", "gzip")).as("an empty field: identity only").isZero();
    }

    @Test
    void namesIgnoreCaseAndXGzipIsGzip() {
        assertThat(AcceptEncoding.quality("GZip", "gzip")).isEqualTo(1000);
        assertThat(AcceptEncoding.quality("x-gzip;q=0.3", "gzip")).isEqualTo(300);
        assertThat(AcceptEncoding.quality("x-gzip", "br")).isZero();
        assertThat(AcceptEncoding.quality("gzipx, brotli", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("gzipx, brotli", "br")).isZero();
    }

    @Test
    void anElementWithAnUnreadableQValueIsIgnored() {
        assertThat(AcceptEncoding.quality("gzip;q=2", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("gzip;q=high, *;q=0.1", "gzip")).isEqualTo(100);
        assertThat(AcceptEncoding.quality("gzip;q=0.1234", "gzip")).isZero();
        assertThat(AcceptEncoding.quality("gzip;level=3;q=0.7", "gzip")).as("other parameters are skipped").isEqualTo(700);
    }
}
