package dev.sluice.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A deterministic pseudo-random body of any length, generated on the fly so that a 256 MiB transfer
 * never sits in memory. Byte {@code i} depends only on {@code i}, so every producer (the backend's
 * {@code download} handler, an upload stream, a Netty {@link ChunkedInput}) emits the same bytes and a
 * receiver checks them with one hash.
 *
 * <pre>{@code
 * backend = TestBackend.start(BackendHandlers.download(size, true));
 * assertThat(client.send(get, Sha256.bodyHandler()).body().hex()).isEqualTo(PseudoRandomBody.sha256(size));
 * }</pre>
 */
public final class PseudoRandomBody {
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 64 * 1024;
    // Hashing 256 MiB costs about a second; tests often ask for the same size twice.
    private static final Map<Long, String> SHA256_BY_LENGTH = new ConcurrentHashMap<>();

    private PseudoRandomBody() {}

    /** The body's first {@code length} bytes (for small bodies). */
    public static byte[] bytes(int length) {
        byte[] out = new byte[length];
        fill(0, out, 0, length);
        return out;
    }

    /** A stream of the body's first {@code length} bytes; each call starts afresh. */
    public static InputStream stream(long length) {
        return new InputStream() {
            private long position;

            @Override
            public int read() {
                if (position >= length) {
                    return -1;
                }
                byte[] one = new byte[1];
                fill(position++, one, 0, 1);
                return one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (len == 0) {
                    return 0;
                }
                if (position >= length) {
                    return -1;
                }
                int n = (int) Math.min(len, length - position);
                fill(position, b, off, n);
                position += n;
                return n;
            }
        };
    }

    /** Hex SHA-256 of the body's first {@code length} bytes. */
    public static String sha256(long length) {
        return SHA256_BY_LENGTH.computeIfAbsent(length, l -> Sha256.of(stream(l)).hex());
    }

    /** The body as a Netty {@link ChunkedInput} of 64 KiB heap buffers, for {@code ChunkedWriteHandler}. */
    public static ChunkedInput<ByteBuf> chunkedInput(long length) {
        return new ChunkedInput<>() {
            private long position;

            @Override
            public boolean isEndOfInput() {
                return position >= length;
            }

            @Override
            public void close() {}

            @Deprecated
            @Override
            public ByteBuf readChunk(ChannelHandlerContext ctx) {
                return readChunk(ctx.alloc());
            }

            @Override
            public ByteBuf readChunk(ByteBufAllocator allocator) {
                if (isEndOfInput()) {
                    return null;
                }
                int n = (int) Math.min(CHUNK, length - position);
                ByteBuf buf = allocator.heapBuffer(n, n);
                fill(position, buf.array(), buf.arrayOffset() + buf.writerIndex(), n);
                buf.writerIndex(buf.writerIndex() + n);
                position += n;
                return buf;
            }

            @Override
            public long length() {
                return length;
            }

            @Override
            public long progress() {
                return position;
            }
        };
    }

    /** Writes the body's bytes {@code [position, position + count)} into {@code dst} at {@code offset}. */
    static void fill(long position, byte[] dst, int offset, int count) {
        int i = 0;
        while (i < count) {
            long p = position + i;
            long word = word(p >>> 3);
            int shift = (int) (p & 7);
            if (shift == 0 && count - i >= 8) {
                LONG_LE.set(dst, offset + i, word);
                i += 8;
            } else {
                dst[offset + i] = (byte) (word >>> (shift * 8));
                i++;
            }
        }
    }

    /** SplitMix64 of the word index: cheap, well mixed, and random-access. */
    private static long word(long index) {
        long z = (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
