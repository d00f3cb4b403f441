package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;

/**
 * An HTTP/2 client that writes frames by hand on a plain socket (h2c with prior knowledge), so a
 * test can send what no well-behaved client would: malformed heads, floods of resets or
 * CONTINUATION frames, HPACK bombs. Headers are HPACK-encoded by Netty's encoder with no
 * validation at all; what the server sends back is read frame by frame.
 */
final class RawH2Client implements AutoCloseable {
    static final int DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, PING = 0x6, GOAWAY = 0x7,
            WINDOW_UPDATE = 0x8, CONTINUATION = 0x9;
    static final int END_STREAM = 0x1, END_HEADERS = 0x4, ACK = 0x1;

    /** A frame the server sent; {@code headers} decoded for HEADERS frames. */
    record Frame(int type, int flags, int stream, byte[] payload, Http2Headers headers) {
        /** The error code of a RST_STREAM or GOAWAY frame. */
        long errorCode() {
            int at = type == GOAWAY ? 4 : 0;
            return ((payload[at] & 0xffL) << 24) | ((payload[at + 1] & 0xff) << 16) | ((payload[at + 2] & 0xff) << 8)
                    | (payload[at + 3] & 0xff);
        }

        boolean endStream() {
            return (flags & END_STREAM) != 0;
        }
    }

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final Http2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, true);
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false, 1 << 20);
    /** The server's SETTINGS_INITIAL_WINDOW_SIZE: what each stream may send it before a WINDOW_UPDATE. */
    private volatile long initialWindow = Http2CodecUtil.DEFAULT_WINDOW_SIZE;
    /** The window the server gave back by WINDOW_UPDATE frames (read by {@link #next}), by stream; 0: the connection's. */
    private final java.util.Map<Integer, Long> granted = new java.util.concurrent.ConcurrentHashMap<>();
    /** Whether {@link #next} returns the server's WINDOW_UPDATE frames (after counting them) rather than skipping them. */
    private boolean windowUpdatesReturned;

    /** Connects, sends the preface and empty SETTINGS, and acknowledges the server's. */
    RawH2Client(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true); // frames go out as written, not held for the previous one's ACK
        socket.connect(address, 5_000);
        socket.setSoTimeout(10_000);
        out = socket.getOutputStream();
        in = new DataInputStream(socket.getInputStream());
        try {
            // Whatever table the server's encoder is allowed (a client's SETTINGS_HEADER_TABLE_SIZE may raise it).
            decoder.maxHeaderTableSize(Http2CodecUtil.MAX_HEADER_TABLE_SIZE);
        } catch (Http2Exception e) {
            throw new IllegalStateException(e);
        }
        out.write(ByteBufUtil.getBytes(Http2CodecUtil.connectionPrefaceBuf()));
        frame(SETTINGS, 0, 0, new byte[0]);
        out.flush();
    }

    /** A request's head: the pseudo-fields, then {@code fields} as name, value pairs, exactly as given. */
    static Http2Headers request(String method, String path, String... fields) {
        Http2Headers headers = new DefaultHttp2Headers(false);
        headers.method(method).scheme("http").path(path).authority("h2.test");
        for (int i = 0; i < fields.length; i += 2) {
            headers.add(fields[i], fields[i + 1]);
        }
        return headers;
    }

    /** HPACK-encodes {@code headers} for this connection's encoder (its dynamic table included). */
    byte[] block(int stream, Http2Headers headers) {
        ByteBuf block = Unpooled.buffer();
        try {
            encoder.encodeHeaders(stream, headers, block);
            return ByteBufUtil.getBytes(block);
        } catch (Http2Exception e) {
            throw new IllegalStateException(e);
        } finally {
            block.release();
        }
    }

    /** A HEADERS frame, and CONTINUATION frames for what does not fit in 16 KiB (the default SETTINGS_MAX_FRAME_SIZE). */
    void headers(int stream, Http2Headers headers, boolean endStream) throws IOException {
        byte[] block = block(stream, headers);
        int max = Http2CodecUtil.DEFAULT_MAX_FRAME_SIZE;
        for (int from = 0; from == 0 || from < block.length; from += max) {
            int to = Math.min(block.length, from + max);
            int flags = (to == block.length ? END_HEADERS : 0) | (from == 0 && endStream ? END_STREAM : 0);
            frame(from == 0 ? HEADERS : CONTINUATION, flags, stream, java.util.Arrays.copyOfRange(block, from, to));
        }
        out.flush();
    }

    void data(int stream, byte[] bytes, boolean endStream) throws IOException {
        frame(DATA, endStream ? END_STREAM : 0, stream, bytes);
        out.flush();
    }

    /** A WINDOW_UPDATE giving the server {@code increment} more bytes on {@code stream} (0: the connection), flushed. */
    void windowUpdate(int stream, int increment) throws IOException {
        frame(WINDOW_UPDATE, 0, stream, int32(increment));
        out.flush();
    }

    void reset(int stream, int errorCode) throws IOException {
        frame(RST_STREAM, 0, stream, int32(errorCode));
    }

    /** Writes one frame, unflushed. */
    void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(frameBytes(type, flags, stream, payload));
    }

    /** One frame's bytes, to write with others in one packet ({@link #raw}). */
    static byte[] frameBytes(int type, int flags, int stream, byte[] payload) {
        byte[] frame = new byte[9 + payload.length];
        frame[0] = (byte) (payload.length >>> 16);
        frame[1] = (byte) (payload.length >>> 8);
        frame[2] = (byte) payload.length;
        frame[3] = (byte) type;
        frame[4] = (byte) flags;
        System.arraycopy(int32(stream), 0, frame, 5, 4);
        System.arraycopy(payload, 0, frame, 9, payload.length);
        return frame;
    }

    void flush() throws IOException {
        out.flush();
    }

    /** Writes {@code bytes} as they are, unflushed: frames or not. */
    void raw(byte[] bytes) throws IOException {
        out.write(bytes);
    }

    private static byte[] int32(int value) {
        return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    }

    /**
     * The next frame from the server, answering its SETTINGS on the way and skipping its WINDOW_UPDATEs
     * (a PING's ACK is returned: it answers one of the client's); null once it closed the connection
     * (or reset it, after a GOAWAY).
     */
    Frame next() throws IOException {
        while (true) {
            byte[] header = new byte[9];
            try {
                in.readFully(header);
            } catch (EOFException | java.net.SocketException closed) {
                return null;
            }
            int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
            int type = header[3] & 0xff;
            int flags = header[4] & 0xff;
            int stream = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8)
                    | (header[8] & 0xff);
            byte[] payload = new byte[length];
            try {
                in.readFully(payload);
            } catch (EOFException | java.net.SocketException closed) {
                return null;
            }
            if (type == SETTINGS && (flags & ACK) == 0) {
                for (int at = 0; at + 6 <= length; at += 6) {
                    if (((payload[at] & 0xff) << 8 | (payload[at + 1] & 0xff)) == 0x4) { // SETTINGS_INITIAL_WINDOW_SIZE
                        initialWindow = ByteBuffer.wrap(payload, at + 2, 4).getInt() & 0xffffffffL;
                    }
                }
                try {
                    frame(SETTINGS, ACK, 0, new byte[0]);
                    out.flush();
                } catch (IOException closing) {
                    // The server is closing the connection: what it sent before still counts.
                }
                continue;
            }
            if (type == WINDOW_UPDATE && length == 4) {
                granted.merge(stream, (long) (ByteBuffer.wrap(payload).getInt() & 0x7fffffff), Long::sum);
            }
            if (type == SETTINGS || type == WINDOW_UPDATE && !windowUpdatesReturned || type == PING && (flags & ACK) == 0) {
                continue;
            }
            Http2Headers decoded = null;
            if (type == HEADERS) {
                ByteBuf block = Unpooled.wrappedBuffer(payload);
                try {
                    decoded = decoder.decodeHeaders(stream, block);
                } catch (Http2Exception e) {
                    throw new IOException(e);
                }
            }
            return new Frame(type, flags, stream, payload, decoded);
        }
    }

    /** Frames until one on {@code stream} that ends it (END_STREAM or RST_STREAM), or a GOAWAY, or the end; the last returned. */
    Frame endOf(int stream) throws IOException {
        Frame frame;
        while ((frame = next()) != null) {
            if (frame.type() == GOAWAY || frame.stream() == stream && (frame.type() == RST_STREAM || frame.endStream())) {
                return frame;
            }
        }
        return null;
    }

    /** The status of {@code stream}'s response, reading its frames to its end; -1 if it was reset instead. */
    int status(int stream) throws IOException {
        int status = -1;
        Frame frame;
        while ((frame = next()) != null) {
            if (frame.stream() != stream) {
                continue;
            }
            if (frame.type() == HEADERS && frame.headers().status() != null) {
                status = Integer.parseInt(frame.headers().status().toString());
            }
            if (frame.type() == RST_STREAM) {
                return -1;
            }
            if (frame.endStream()) {
                return status;
            }
        }
        return -1;
    }

    /** Whether the server closed the connection: reads (and drops) what is left until the end. */
    boolean closedByServer() throws IOException {
        try {
            while (next() != null) {
                // drained
            }
            return true;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        }
    }

    /** The server's initial window per stream, from its SETTINGS (65,535 until they are read). */
    long initialWindow() {
        return initialWindow;
    }

    /** What the server's WINDOW_UPDATE frames read so far gave back on {@code stream} (0: the connection). */
    long granted(int stream) {
        return granted.getOrDefault(stream, 0L);
    }

    /** Has {@link #next} return WINDOW_UPDATE frames too: a sender waiting for window sees each as it comes. */
    void returnWindowUpdates() {
        windowUpdatesReturned = true;
    }

    /** How long a read may wait before {@link SocketTimeoutException}. */
    void readTimeout(java.time.Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
