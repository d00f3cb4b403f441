package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.stream.ChunkedInput;
import java.io.ByteArrayInputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PseudoRandomBodyTest {

    @Test
    void everyProducerEmitsTheSameBytes() throws Exception {
        byte[] direct = PseudoRandomBody.bytes(200_003);
        assertThat(PseudoRandomBody.stream(200_003).readAllBytes()).isEqualTo(direct);
        assertThat(readAll(PseudoRandomBody.chunkedInput(200_003))).isEqualTo(direct);
        assertThat(PseudoRandomBody.sha256(200_003)).isEqualTo(Sha256.hex(direct));
    }

    @Test
    void byteAtAPositionDoesNotDependOnHowTheBodyIsCut() {
        byte[] whole = PseudoRandomBody.bytes(100);
        byte[] slice = new byte[37];
        PseudoRandomBody.fill(13, slice, 0, slice.length);
        assertThat(slice).isEqualTo(Arrays.copyOfRange(whole, 13, 50));
    }

    @Test
    void bodiesOfDifferentLengthsArePrefixesOfOneSequenceAndLookRandom() {
        byte[] longer = PseudoRandomBody.bytes(4096);
        assertThat(Arrays.copyOf(longer, 1000)).isEqualTo(PseudoRandomBody.bytes(1000));
        assertThat(PseudoRandomBody.sha256(1000)).isNotEqualTo(PseudoRandomBody.sha256(1001));
        long distinct = new String(longer, java.nio.charset.StandardCharsets.ISO_8859_1).chars().distinct().count();
        assertThat(distinct).isGreaterThan(250);
    }

    @Test
    void sha256OfAStreamMatchesTheOneShotHashAndCountsBytes() {
        byte[] bytes = PseudoRandomBody.bytes(70_000);
        Sha256.Digest d = Sha256.of(new ByteArrayInputStream(bytes));
        assertThat(d.hex()).isEqualTo(Sha256.hex(bytes));
        assertThat(d.length()).isEqualTo(70_000);
    }

    private static byte[] readAll(ChunkedInput<ByteBuf> input) throws Exception {
        ByteBufAllocator alloc = UnpooledByteBufAllocator.DEFAULT;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (!input.isEndOfInput()) {
            ByteBuf chunk = input.readChunk(alloc);
            try {
                byte[] b = new byte[chunk.readableBytes()];
                chunk.readBytes(b);
                out.writeBytes(b);
            } finally {
                chunk.release();
            }
        }
        assertThat(input.progress()).isEqualTo(input.length());
        return out.toByteArray();
    }
}
