package dev.sluice.server;

import dev.sluice.upstream.FieldSyntax;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
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
    /** The head Netty is about to parse was checked whole by {@link #fieldsValid}. */
    private boolean prevalidated;

    /** Header maps for heads already checked: no validation on add or set. */
    private static final HttpHeadersFactory CHECKED_HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

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
        boolean freshHead = inHead && !headStarted;
        if (inHead && hasFoldedLine(buffer)) {
            rejected = true;
            buffer.skipBytes(buffer.readableBytes());
            DefaultFullHttpRequest bad = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request");
            bad.setDecoderResult(DecoderResult.failure(
                    new IllegalArgumentException("obsolete line folding in a header (RFC 9112 §5.2)")));
            out.add(bad);
            return;
        }
        prevalidated = freshHead && fieldsValid(buffer);
        int before = out.size();
        super.decode(ctx, buffer, out);
        prevalidated = false;
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

    @Override
    protected HttpMessage createMessage(String[] initialLine) throws Exception {
        HttpMessage made = super.createMessage(initialLine); // Netty's strict version, method and target checks
        if (!prevalidated) {
            return made;
        }
        HttpRequest request = (HttpRequest) made;
        // The same request line, with a header map that skips re-validation: the scan passed.
        return new DefaultHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                CHECKED_HEADERS.newHeaders(), false);
    }

    /**
     * Whether the buffer holds a whole head, from its request line (after any blank lines) to
     * the blank line that ends it, whose field lines all end in CRLF and are a token, a colon and
     * visible characters, spaces, tabs or obs-text. The request line is Netty's to check.
     */
    private static boolean fieldsValid(ByteBuf buffer) {
        int end = buffer.writerIndex();
        int i = buffer.readerIndex();
        while (i < end && (buffer.getByte(i) == '\r' || buffer.getByte(i) == '\n')) {
            i++;
        }
        int lf = buffer.indexOf(i, end, (byte) '\n');
        if (lf < 0) {
            return false;
        }
        i = lf + 1;
        while (true) {
            lf = buffer.indexOf(i, end, (byte) '\n');
            if (lf < 0 || lf == i || buffer.getByte(lf - 1) != '\r') {
                return false;
            }
            int lineEnd = lf - 1;
            if (lineEnd == i) {
                return true;
            }
            int j = i;
            while (j < lineEnd && FieldSyntax.isTokenChar(buffer.getByte(j))) {
                j++;
            }
            if (j == i || j == lineEnd || buffer.getByte(j) != ':') {
                return false;
            }
            for (j++; j < lineEnd; j++) {
                if (!FieldSyntax.isFieldContent(buffer.getByte(j))) {
                    return false;
                }
            }
            i = lf + 1;
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
