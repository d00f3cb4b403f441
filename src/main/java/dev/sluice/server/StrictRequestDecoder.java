package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;

/**
 * Netty's request decoder, configured strictly, plus the one check it lacks: obsolete line
 * folding. Netty 4.2 already rejects bare LF line endings, Content-Length with
 * Transfer-Encoding, differing repeated Content-Length, a final coding other than chunked,
 * invalid chunk sizes, bad header-name characters and whitespace before the colon; each of those
 * becomes a message with a failed {@link DecoderResult}, which the gateway answers with 400.
 *
 * <p>RFC 9112 §5.2: a server MUST reject a request with obs-fold in any header field (or
 * replace it with spaces); front ends that unfold while back ends do not is a known smuggling
 * vector, so Sluice rejects. Netty unfolds silently, so this decoder scans each head before
 * Netty parses it: a line of the head that starts with SP or HTAB is a fold.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {
    /** Tells the connection that a request head has started but is not complete yet. */
    interface HeadProgress {
        void partialHead();
    }

    private final HeadProgress progress;
    /** True from the end of one message until the next message's head has been decoded. */
    private boolean inHead = true;
    private boolean rejected;
    /** A non-blank line of the current head was seen. */
    private boolean headStarted;

    StrictRequestDecoder(HttpDecoderConfig config, HeadProgress progress) {
        super(config);
        this.progress = progress;
    }

    static HttpDecoderConfig config(int maxRequestLine, int maxHeaderSize, int maxChunkSize) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(maxRequestLine)
                .setMaxHeaderSize(maxHeaderSize)
                .setMaxChunkSize(maxChunkSize)
                .setStrictLineParsing(true)
                .setValidateHeaders(true)
                .setAllowDuplicateContentLengths(false)
                .setUseRfc9112TransferEncoding(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (rejected) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        if (inHead && hasFoldedLine(buffer)) {
            rejected = true;
            buffer.skipBytes(buffer.readableBytes());
            DefaultFullHttpRequest bad = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request");
            bad.setDecoderResult(DecoderResult.failure(
                    new IllegalArgumentException("obsolete line folding in a header (RFC 9112 §5.2)")));
            out.add(bad);
            return;
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object msg = out.get(i);
            if (msg instanceof HttpMessage m) {
                inHead = false;
                if (m.decoderResult().isFailure()) {
                    rejected = true;
                }
            }
            if (msg instanceof LastHttpContent last) {
                inHead = true;
                headStarted = false;
                if (last.decoderResult().isFailure()) {
                    rejected = true;
                }
            }
        }
        if (inHead && buffer.isReadable() && !rejected) {
            progress.partialHead();
        }
    }

    /**
     * Scans the unparsed part of a head. Netty consumes a head line by line, so the reader index
     * is always at the start of a line: a line that begins with SP/HT there, or after any LF
     * before the blank line that ends the head, is a folded continuation line. Blank lines before
     * the request line (RFC 9112 §2.2 lets a server ignore them) do not end the head.
     */
    private boolean hasFoldedLine(ByteBuf buffer) {
        int i = buffer.readerIndex();
        int end = buffer.writerIndex();
        boolean lineStart = true;
        while (i < end) {
            byte b = buffer.getByte(i);
            if (lineStart && b != '\r' && b != '\n') {
                if (b == ' ' || b == '\t') {
                    return true;
                }
                headStarted = true;
            } else if (lineStart && headStarted) {
                // The blank line that ends the head: what follows is body, not scanned.
                return false;
            }
            lineStart = b == '\n';
            i++;
        }
        return false;
    }
}
