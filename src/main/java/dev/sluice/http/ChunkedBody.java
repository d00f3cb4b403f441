package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** One body part as chunked transfer coding (RFC 9112 §7.1), for the encoders of both directions. */
public final class ChunkedBody {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] LAST_CHUNK = {'0', '\r', '\n'};

    private ChunkedBody() {}

    /**
     * Adds the bytes of {@code part} as chunks to {@code out}, taking over its reference: a
     * size line, the data as it is, a line end; for the last part the zero-size chunk, the
     * trailer fields and the empty line. An empty part in the middle of a body adds nothing
     * (a zero-size chunk would end the body).
     */
    public static void encode(ByteBufAllocator alloc, HttpContent part, List<Object> out) {
        ByteBuf data = part.content();
        int size = data.readableBytes();
        boolean last = part instanceof LastHttpContent;
        HttpHeaders trailers = last ? ((LastHttpContent) part).trailingHeaders() : null;
        ByteBuf end = null;
        if (size > 0) {
            ByteBuf line = alloc.buffer(10);
            line.writeCharSequence(Integer.toHexString(size), StandardCharsets.US_ASCII);
            line.writeBytes(CRLF);
            out.add(line);
            out.add(data);
            end = alloc.buffer(last ? 64 : 2).writeBytes(CRLF);
        } else {
            part.release();
        }
        if (last) {
            end = end == null ? alloc.buffer(64) : end;
            end.writeBytes(LAST_CHUNK);
            HeaderBytes.write(trailers, end);
            end.writeBytes(CRLF);
        }
        if (end != null) {
            out.add(end);
        }
    }
}
