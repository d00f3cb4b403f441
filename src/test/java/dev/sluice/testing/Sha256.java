package dev.sluice.testing;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * SHA-256 of bodies too big to hold, fed incrementally. Used by the backend to fingerprint uploads and by
 * tests to fingerprint downloads without buffering them.
 *
 * <pre>{@code
 * Sha256.Digest d = httpClient.send(request, Sha256.bodyHandler()).body();
 * assertThat(d.hex()).isEqualTo(PseudoRandomBody.sha256(size));
 * }</pre>
 *
 * <p>An instance (from {@link #start()}) is not thread-safe; feed it from one thread at a time.
 */
public final class Sha256 {
    /** A body's fingerprint: lowercase hex SHA-256 and its length in bytes. */
    public record Digest(String hex, long length) {
        @Override
        public String toString() {
            return hex + " (" + length + " bytes)";
        }
    }

    private final MessageDigest md = newDigest();
    private long length;

    private Sha256() {}

    /** Starts an incremental hash. */
    public static Sha256 start() {
        return new Sha256();
    }

    /** Hex SHA-256 of {@code bytes}. */
    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    /** Reads {@code in} to its end (it is not closed) and returns its fingerprint. */
    public static Digest of(InputStream in) {
        Sha256 hash = start();
        byte[] buffer = new byte[64 * 1024];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                hash.update(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return hash.digest();
    }

    /** A {@link HttpResponse.BodyHandler} that hashes the response body as it streams in, never holding it. */
    public static HttpResponse.BodyHandler<Digest> bodyHandler() {
        return info -> HttpResponse.BodySubscribers.fromSubscriber(new HashingSubscriber(), HashingSubscriber::result);
    }

    public Sha256 update(byte[] bytes, int offset, int count) {
        md.update(bytes, offset, count);
        length += count;
        return this;
    }

    public Sha256 update(byte[] bytes) {
        return update(bytes, 0, bytes.length);
    }

    /** Hashes the buffer's remaining bytes and consumes them. */
    public Sha256 update(ByteBuffer buffer) {
        length += buffer.remaining();
        md.update(buffer);
        return this;
    }

    /** Hashes the buffer's readable bytes without moving its reader index or changing its reference count. */
    public Sha256 update(ByteBuf buffer) {
        for (ByteBuffer nio : buffer.nioBuffers(buffer.readerIndex(), buffer.readableBytes())) {
            update(nio);
        }
        return this;
    }

    public long length() {
        return length;
    }

    /** Finishes the hash; the instance must not be used afterwards. */
    public Digest digest() {
        return new Digest(HexFormat.of().formatHex(md.digest()), length);
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Hashes each buffer as it arrives; the body subscriber calls {@link #result()} after {@code onComplete}. */
    private static final class HashingSubscriber implements Flow.Subscriber<List<ByteBuffer>> {
        private final Sha256 hash = start();
        private Digest result;

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            buffers.forEach(hash::update);
        }

        @Override
        public void onError(Throwable error) {
            // The body subscriber completes exceptionally with the same error; nothing to keep.
        }

        @Override
        public void onComplete() {
            result = hash.digest();
        }

        Digest result() {
            return result;
        }
    }
}
