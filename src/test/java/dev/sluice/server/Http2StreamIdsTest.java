package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import org.junit.jupiter.api.Test;

/** The decisions {@link Http2StreamIds} makes on a client's HEADERS frames, called directly. */
class Http2StreamIdsTest {
    private final Http2StreamIds ids = new Http2StreamIds(null, 2);

    private static Http2Error error(Http2Exception e) {
        return e == null ? null : e.error();
    }

    @Test
    void newStreamsInOrderAndTheirTrailersPass() {
        assertThat(ids.headers(1, false)).isNull();
        assertThat(ids.headers(3, true)).isNull();
        assertThat(ids.headers(1, true)).as("stream 1's trailers").isNull();
    }

    @Test
    void aStreamIdLowerThanOneOpenedAndNeverUsedIsAProtocolError() {
        assertThat(ids.headers(5, true)).isNull();
        assertThat(error(ids.headers(3, true))).isEqualTo(Http2Error.PROTOCOL_ERROR);
        assertThat(error(ids.headers(1, true))).isEqualTo(Http2Error.PROTOCOL_ERROR);
    }

    @Test
    void headersOnAStreamTheClientEndedIsStreamClosed() {
        assertThat(ids.headers(1, true)).isNull();
        assertThat(error(ids.headers(1, true))).isEqualTo(Http2Error.STREAM_CLOSED);
        assertThat(ids.headers(3, false)).isNull();
        ids.ended(3); // DATA with END_STREAM, or the client's RST_STREAM
        assertThat(error(ids.headers(3, true))).isEqualTo(Http2Error.STREAM_CLOSED);
    }

    @Test
    void aStreamTheClientHasNotEndedIsLeftToTheCodecWhateverSluiceDidWithIt() {
        // Sluice may have refused or reset stream 1 while the client was still sending: its
        // trailers in flight are no connection error.
        assertThat(ids.headers(1, false)).isNull();
        assertThat(ids.headers(3, false)).isNull();
        assertThat(ids.headers(1, true)).isNull();
    }

    @Test
    void whatOverflowsTheBoundedListsIsForgottenAndLeftToTheCodec() {
        // Twice 2 streams open and not ended are remembered; the fifth makes the oldest forgotten.
        for (int id = 1; id <= 9; id += 2) {
            assertThat(ids.headers(id, false)).isNull();
        }
        assertThat(ids.headers(1, true)).as("forgotten: the codec answers").isNull();
        assertThat(ids.headers(3, true)).as("still remembered as open: its trailers").isNull();
        // Skipped ids: eight runs remembered, older ones forgotten.
        Http2StreamIds skipping = new Http2StreamIds(null, 100);
        int id = 1;
        for (int i = 0; i < Http2StreamIds.MAX_GAPS + 2; i++) {
            id += 4; // skips id - 2
            assertThat(skipping.headers(id, true)).isNull();
        }
        assertThat(skipping.headers(3, true)).as("forgotten gap").isNull();
        assertThat(error(skipping.headers(id - 2, true))).isEqualTo(Http2Error.PROTOCOL_ERROR);
    }

    @Test
    void evenAndZeroStreamIdsAreTheCodecsToRefuse() {
        assertThat(ids.headers(0, true)).isNull();
        assertThat(ids.headers(2, true)).isNull();
    }
}
