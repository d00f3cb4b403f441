package dev.sluice.exchange;

import com.aayushatharva.brotli4j.encoder.BrotliEncoderChannel;
import com.aayushatharva.brotli4j.encoder.Encoder;
import dev.sluice.config.CompressionConfig.Encoding;
import dev.sluice.route.Compression;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.zip.GZIPOutputStream;

/**
 * Compresses one response body as it streams: each part goes into the encoder as it comes, and
 * what the encoder has written so far is taken out when the response's burst ends ({@link
 * #flush}: a sync flush, so the client can decode every byte sent), when enough has gathered,
 * and at the end ({@link #finish}). Nothing holds the whole body; the encoder's window is all
 * it keeps.
 *
 * <p>gzip is the JDK's {@link GZIPOutputStream} (zlib, RFC 1952's framing and CRC), brotli is
 * brotli4j's streaming encoder (Google's C library), both writing into {@link Output}, a pooled
 * buffer. Netty's {@code JdkZlibEncoder} and {@code BrotliEncoder} are pipeline handlers that
 * sync-flush every part they are given; here a burst of parts is flushed once, and the encoders
 * need no channel of their own. Both hold native memory until {@link #finish} or {@link
 * #discard}, one of which the respond step always calls.
 */
abstract sealed class BodyCompressor {
    /** Compressed bytes are passed on once this many have gathered, even mid-burst: what a response holds is bounded. */
    static final int PASS_ON = 16 * 1024;
    /**
     * 18 (a 256 KiB window): brotli's memory per response grows with its window, and a gateway
     * compresses many at once; ngx_brotli's default is 19, brotli's own 22 (4 MiB) suits files
     * compressed once. Responses are mostly far smaller than the window anyway.
     */
    private static final int BROTLI_WINDOW = 18;
    private static final int BUFFER = 8 * 1024;

    final Output output;
    /** Input went in since the last flush. */
    private boolean unflushed;

    private BodyCompressor(ByteBufAllocator alloc) {
        this.output = new Output(alloc);
    }

    static BodyCompressor of(Encoding encoding, Compression rule, ByteBufAllocator alloc) {
        try {
            return switch (encoding) {
                case GZIP -> new Gzip(alloc, rule.gzipLevel());
                case BR -> new Brotli(alloc, rule.brotliLevel());
            };
        } catch (IOException e) {
            // Only brotli's native encoder can fail to start (out of memory): Compression offers it only where it loads.
            throw new IllegalStateException("cannot start a " + encoding.token() + " encoder", e);
        }
    }

    /** Compresses {@code part}'s readable bytes (the caller keeps it and releases it). */
    final void write(ByteBuf part) {
        if (part.isReadable()) {
            unflushed = true;
            encode(part);
        }
    }

    /** Whether enough compressed bytes gathered to pass them on before the burst ends. */
    final boolean full() {
        return output.size() >= PASS_ON;
    }

    /** The end of a burst: everything written so far becomes decodable; returns the bytes to send (maybe empty). */
    final ByteBuf flush() {
        if (unflushed) {
            unflushed = false;
            syncFlush();
        }
        return output.take();
    }

    /** The bytes gathered so far, without flushing the encoder. */
    final ByteBuf take() {
        return output.take();
    }

    /** The end of the body: the encoder's last bytes and trailer; its native memory is freed. */
    final ByteBuf finish() {
        end();
        return output.take();
    }

    /** The response was cut or dropped: what was gathered is released, the encoder freed. */
    final void discard() {
        output.discard();
        end();
    }

    abstract void encode(ByteBuf part);

    abstract void syncFlush();

    /** Finishes the stream into {@link #output} (which drops it when discarding) and frees the encoder; once. */
    abstract void end();

    private static final class Gzip extends BodyCompressor {
        private final LeveledGzip gzip;
        private boolean ended;

        Gzip(ByteBufAllocator alloc, int level) throws IOException {
            super(alloc);
            this.gzip = new LeveledGzip(output, level);
        }

        @Override
        void encode(ByteBuf part) {
            try {
                part.getBytes(part.readerIndex(), gzip, part.readableBytes());
            } catch (IOException impossible) {
                // Output never throws, and neither does the deflater on good input.
                throw new IllegalStateException(impossible);
            }
        }

        @Override
        void syncFlush() {
            try {
                gzip.flush(); // SYNC_FLUSH: constructed with syncFlush
            } catch (IOException impossible) {
                throw new IllegalStateException(impossible);
            }
        }

        @Override
        void end() {
            if (!ended) {
                ended = true;
                try {
                    gzip.close(); // the trailer (CRC-32, length), then the deflater's memory
                } catch (IOException impossible) {
                    throw new IllegalStateException(impossible);
                }
            }
        }
    }

    /** {@link GZIPOutputStream} at a chosen level (it takes none), sync-flushing on {@code flush()}. */
    private static final class LeveledGzip extends GZIPOutputStream {
        LeveledGzip(OutputStream out, int level) throws IOException {
            super(out, BUFFER, true);
            def.setLevel(level); // before any input: the level applies from the first byte
        }
    }

    private static final class Brotli extends BodyCompressor {
        private final BrotliEncoderChannel brotli;
        private boolean ended;

        Brotli(ByteBufAllocator alloc, int level) throws IOException {
            super(alloc);
            this.brotli = new BrotliEncoderChannel(output, Encoder.Parameters.create(level, BROTLI_WINDOW), BUFFER);
        }

        @Override
        void encode(ByteBuf part) {
            try {
                if (part.nioBufferCount() == 1) {
                    brotli.write(part.nioBuffer());
                } else {
                    for (ByteBuffer b : part.nioBuffers()) {
                        brotli.write(b);
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("brotli encoder failed", e);
            }
        }

        @Override
        void syncFlush() {
            try {
                brotli.flush();
            } catch (IOException e) {
                throw new IllegalStateException("brotli encoder failed", e);
            }
        }

        @Override
        void end() {
            if (!ended) {
                ended = true;
                try {
                    brotli.close(); // the last meta-block, then the native encoder's memory
                } catch (IOException e) {
                    throw new IllegalStateException("brotli encoder failed", e);
                }
            }
        }
    }

    /**
     * Where an encoder writes: a pooled buffer, made when the first byte comes, handed on by
     * {@link #take}. Both a stream (gzip's) and a channel (brotli's).
     */
    static final class Output extends OutputStream implements WritableByteChannel {
        private final ByteBufAllocator alloc;
        private ByteBuf bytes;
        private boolean discarding;

        Output(ByteBufAllocator alloc) {
            this.alloc = alloc;
        }

        private ByteBuf room() {
            if (bytes == null) {
                bytes = alloc.ioBuffer(BUFFER);
            }
            return bytes;
        }

        @Override
        public void write(int b) {
            if (!discarding) {
                room().writeByte(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (!discarding) {
                room().writeBytes(b, off, len);
            }
        }

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            if (discarding) {
                src.position(src.limit());
            } else {
                room().writeBytes(src);
            }
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
            // The encoders close their output when they end; the buffer is the respond step's to take.
        }

        int size() {
            return bytes == null ? 0 : bytes.readableBytes();
        }

        /** What gathered, now the caller's; an empty buffer when nothing did. */
        ByteBuf take() {
            ByteBuf taken = bytes;
            bytes = null;
            return taken == null ? Unpooled.EMPTY_BUFFER : taken;
        }

        void discard() {
            discarding = true;
            if (bytes != null) {
                bytes.release();
                bytes = null;
            }
        }
    }
}
