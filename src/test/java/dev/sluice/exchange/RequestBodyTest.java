package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestBodyTest {
    private static HttpContent part(String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    private static LastHttpContent last(String text) {
        return new DefaultLastHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    /** Writes every held part as a connection would (the write takes ownership), returning their text. */
    private static List<String> sendAll(RequestBody body) {
        List<String> sent = new ArrayList<>();
        HttpContent part;
        while ((part = body.nextHeld()) != null) {
            boolean isLast = part instanceof LastHttpContent;
            body.sending(part, isLast);
            sent.add((isLast ? "last:" : "") + part.content().toString(StandardCharsets.US_ASCII));
            part.release();
        }
        return sent;
    }

    @Test
    void partsHeldBeforeAConnectionGoOutInTheOrderTheyCame() {
        RequestBody body = new RequestBody();
        body.hold(part("a"));
        body.hold(part("b"));
        body.hold(last("c"));
        assertThat(sendAll(body)).containsExactly("a", "b", "last:c");
        assertThat(body.nextHeld()).isNull();
        body.release();
    }

    @Test
    void aRetrySendsTheWrittenPartsAgainBeforeThoseStillHeld() {
        RequestBody body = new RequestBody();
        body.hold(part("a"));
        body.hold(part("b"));
        assertThat(sendAll(body)).containsExactly("a", "b");
        body.hold(last("c"));
        body.rewind();
        assertThat(sendAll(body)).containsExactly("a", "b", "last:c");
        assertThat(body.replayable()).isTrue();
        body.release();
    }

    @Test
    void anEmptyEndMarkerIsReplayedWithoutBeingCopied() {
        RequestBody body = new RequestBody();
        body.hold(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat(sendAll(body)).containsExactly("last:");
        body.rewind();
        assertThat(sendAll(body)).containsExactly("last:");
        body.release();
    }

    @Test
    void aBodyLargerThanTheReplayLimitIsNoLongerReplayableAndItsCopiesAreFreed() {
        RequestBody body = new RequestBody();
        HttpContent first = part("x".repeat(RequestBody.REPLAY_LIMIT - 10));
        HttpContent second = part("y".repeat(20));
        body.sending(first, false);
        assertThat(first.refCnt()).as("a copy shares the buffer").isEqualTo(2);
        body.sending(second, false);
        assertThat(body.replayable()).isFalse();
        assertThat(first.refCnt()).as("the copy is freed").isEqualTo(1);
        assertThat(second.refCnt()).as("no copy is made").isEqualTo(1);
        body.rewind();
        assertThat(body.nextHeld()).isNull();
        first.release();
        second.release();
    }

    @Test
    void releaseFreesWhatIsHeldAndWhatIsCopied() {
        RequestBody body = new RequestBody();
        HttpContent written = part("a");
        HttpContent held = part("b");
        body.sending(written, false);
        written.release();
        body.hold(held);
        body.release();
        assertThat(written.refCnt()).isZero();
        assertThat(held.refCnt()).isZero();
    }
}
