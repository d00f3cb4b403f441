package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.util.List;

/**
 * Decodes an endpoint's responses (RFC 9112) into Netty's message objects: a head, then body
 * parts, the last one a {@link LastHttpContent}; what {@code HttpResponseDecoder} produces, at a
 * fraction of its cost.
 *
 * <p>Why not Netty's decoder: in a profile under load it took 17% of the event loop's user time,
 * more than all of Sluice's own work on a response. It builds each field as a new name and a new
 * {@code String} value, validates each twice over (its line parser, then the header map) and
 * hashes each name into a map. Here the head is found with one scan for line ends, copied once
 * into a byte array and checked byte by byte against RFC 9110's grammar in that array; the head
 * is an {@link ReceivedResponse}, which makes a map of its fields only if asked (most responses
 * are forwarded from the bytes without one).
 *
 * <p>As strict as Sluice's use of Netty's decoder was, and stricter where a proxy must be (RFC
 * 9112 §6.3, §11.2): lines end in CRLF; a field name is a token, its value visible characters,
 * spaces, tabs and obs-text; a line folded onto the previous one (obs-fold), {@code
 * Content-Length} with {@code Transfer-Encoding}, more than one length, a length that is not
 * digits, or {@code Transfer-Encoding} in an HTTP/1.0 response each fail the response, which
 * Sluice answers with 502 {@code bad_response} and never forwards. Only HTTP/1.0 and HTTP/1.1
 * are accepted, with a status from 100 to 599.
 *
 * <p>Framing: no body for a response to HEAD, for 1xx, 204 and 304; chunked when chunked is the
 * final transfer coding; otherwise the body runs to the connection's end when a transfer coding
 * is present or no length is (the caller re-frames it for the client); otherwise its length.
 * Bodies come as retained slices of what was read, never copied.
 */
public final class ResponseDecoder extends ByteToMessageDecoder {
    /** Supplies the method of the request a final response answers (HEAD responses have no body). */
    public interface RequestMethods {
        /** Whether the request this final response answers was a HEAD; called once per final response. */
        boolean finalResponseAnswersHead();
    }

    private enum State { HEAD, FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, UNTIL_CLOSE, DISCARD }

    /** Longest chunk-size line (size and extensions) accepted. */
    private static final int MAX_CHUNK_LINE = 4096;
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    private final RequestMethods methods;
    private final int maxHeadSize;
    private final int maxPartSize;
    private State state = State.HEAD;
    /** Body bytes still to come: of the whole body (FIXED) or of the current chunk (CHUNK_DATA). */
    private long remaining;

    public ResponseDecoder(RequestMethods methods, int maxHeadSize, int maxPartSize) {
        this.methods = methods;
        this.maxHeadSize = maxHeadSize;
        this.maxPartSize = maxPartSize;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            int before = in.readableBytes();
            int produced = out.size();
            switch (state) {
                case HEAD -> decodeHead(in, out);
                case FIXED -> decodeFixed(in, out);
                case CHUNK_SIZE -> decodeChunkSize(in, out);
                case CHUNK_DATA -> decodeChunkData(in, out);
                case CHUNK_END -> decodeChunkEnd(in, out);
                case TRAILERS -> decodeTrailers(in, out);
                case UNTIL_CLOSE -> out.add(new DefaultHttpContent(in.readRetainedSlice(Math.min(in.readableBytes(), maxPartSize))));
                case DISCARD -> in.skipBytes(in.readableBytes());
            }
            if (in.readableBytes() == before && out.size() == produced) {
                return; // needs more bytes
            }
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        super.decodeLast(ctx, in, out);
        if (state == State.UNTIL_CLOSE) {
            // The connection's end is this body's end.
            out.add(LastHttpContent.EMPTY_LAST_CONTENT);
            state = State.HEAD;
        } else if (state == State.HEAD && in.isReadable() && in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n') >= 0) {
            // A status line and part of the fields, then the end: a broken response (as Netty's
            // decoder reports it). A closed connection mid-body is left to the connection's end.
            fail(out, new PrematureChannelClosureException("connection closed before the response head ended"));
            in.skipBytes(in.readableBytes());
        }
    }

    // ---- head ----

    private void decodeHead(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        // Empty lines before a status line are skipped (RFC 9112 §2.2 allows it for requests;
        // Netty's decoder skipped them in responses too).
        while (end - start >= 2 && in.getByte(start) == '\r' && in.getByte(start + 1) == '\n') {
            start += 2;
        }
        in.readerIndex(start);
        int headEnd = HeadLines.find(in, start, end, maxHeadSize);
        if (headEnd == HeadLines.BAD_LINE_END) {
            fail(out, new IllegalArgumentException("a line of the response head does not end in CRLF"));
            return;
        }
        if (headEnd == HeadLines.TOO_LONG || headEnd == HeadLines.NEEDS_MORE && end - start > maxHeadSize) {
            fail(out, new TooLongFrameException("response head is larger than " + maxHeadSize + " bytes"));
            return;
        }
        if (headEnd == HeadLines.NEEDS_MORE) {
            return;
        }
        byte[] head = new byte[headEnd - start];
        in.readBytes(head);
        try {
            parseHead(head, out);
        } catch (IllegalArgumentException e) {
            fail(out, e);
        }
    }

    private void parseHead(byte[] h, List<Object> out) {
        // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF (a missing SP before an empty reason is common).
        int[] lineEnds = HeadLines.ends();
        int lineIndex = 0;
        int eol = lineEnds[lineIndex++];
        if (eol < 12 || h[0] != 'H' || h[1] != 'T' || h[2] != 'T' || h[3] != 'P' || h[4] != '/' || h[5] != '1' || h[6] != '.'
                || (h[7] != '0' && h[7] != '1') || h[8] != ' ') {
            throw new IllegalArgumentException("not an HTTP/1.0 or HTTP/1.1 status line");
        }
        HttpVersion version = h[7] == '1' ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0;
        int code = digit(h[9]) * 100 + digit(h[10]) * 10 + digit(h[11]);
        if (code < 100 || code > 599 || (eol > 12 && h[12] != ' ')) {
            throw new IllegalArgumentException("invalid status code in the status line");
        }
        int reasonStart = Math.min(13, eol);
        checkText(h, reasonStart, eol, "reason phrase");
        HttpResponseStatus status = status(code, h, reasonStart, eol);

        // The map of fields is made only if something asks for it (ReceivedResponse): here each
        // line is checked, and what framing and forwarding need is noted on the way.
        ReceivedResponse response = new ReceivedResponse(version, status, h, eol, h.length - 2);
        boolean verbatim = code >= 200 && code != 204 && code != 205;
        boolean hasLength = false;
        int lengthStart = 0;
        int lengthEnd = 0;
        boolean transferEncoding = false;
        int connectionTokens = 0;
        int line = eol + 2;
        while (true) {
            int end = lineEnds[lineIndex++];
            if (end == line) {
                break; // the empty line
            }
            int nameEnd = parseField(h, line, end);
            int colon = colonAfter(h, nameEnd);
            verbatim &= colon == nameEnd;
            int valueStart = FieldSyntax.valueStart(h, colon + 1, end);
            int valueEnd = FieldSyntax.valueEnd(h, valueStart, end);
            if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.CONTENT_LENGTH)) {
                if (hasLength) {
                    throw new IllegalArgumentException("more than one Content-Length");
                }
                hasLength = true;
                lengthStart = valueStart;
                lengthEnd = valueEnd;
            } else if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.TRANSFER_ENCODING)) {
                transferEncoding = true;
            } else if (HopByHop.is(h, line, nameEnd)) {
                response.dropLine(line, end + 2);
                if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.CONNECTION)) {
                    connectionTokens |= HopByHop.connectionTokens(h, valueStart, valueEnd);
                } else if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.KEEP_ALIVE)) {
                    response.keepAliveValue(valueStart, valueEnd);
                }
            } else if (FieldNames.spells(h, line, nameEnd, HttpHeaderValues.CLOSE)) {
                verbatim = false; // a field "Connection: close" would name, removed as hop-by-hop
            }
            line = end + 2;
        }
        // HttpUtil.isKeepAlive's rule.
        boolean keepAlive = (connectionTokens & HopByHop.CLOSE) == 0 && (version == HttpVersion.HTTP_1_1 || (connectionTokens & HopByHop.KEEP_ALIVE) != 0);
        verbatim &= !transferEncoding && (connectionTokens & HopByHop.OTHER) == 0;

        if (code < 200) {
            response.facts(false, keepAlive);
            out.add(response);
            if (code == 101) {
                // A protocol switch Sluice never asked for: what follows is not HTTP.
                state = State.DISCARD;
            } else {
                // An interim response; the final one follows for the same request.
                out.add(LastHttpContent.EMPTY_LAST_CONTENT);
            }
            return;
        }
        boolean answersHead = methods.finalResponseAnswersHead();
        boolean bodyless = answersHead || code == 204 || code == 304;
        // Checked even where no body follows (HEAD, 304): an invalid length is invalid framing
        // (RFC 9112 §6.3), and the head would reach the client with it. Found by ResponseDecodingFuzzTest.
        long length = hasLength ? parseLength(h, lengthStart, lengthEnd) : -1;
        response.facts(verbatim && (hasLength || bodyless), keepAlive);
        if (bodyless) {
            if (transferEncoding) {
                // No body follows whatever it says; the client encoder must not expect chunks.
                response.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
            }
            out.add(response);
            out.add(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        if (transferEncoding) {
            if (hasLength) {
                throw new IllegalArgumentException("both Content-Length and Transfer-Encoding");
            }
            if (version == HttpVersion.HTTP_1_0) {
                throw new IllegalArgumentException("Transfer-Encoding in an HTTP/1.0 response");
            }
            state = finalCodingIsChunked(response.headers()) ? State.CHUNK_SIZE : State.UNTIL_CLOSE;
            out.add(response);
            return;
        }
        if (!hasLength) {
            out.add(response);
            state = State.UNTIL_CLOSE;
            return;
        }
        out.add(response);
        if (length == 0) {
            out.add(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            remaining = length;
            state = State.FIXED;
        }
    }

    private static int digit(byte b) {
        if (b < '0' || b > '9') {
            throw new IllegalArgumentException("invalid status code in the status line");
        }
        return b - '0';
    }

    /** The standard status object when the reason is the standard one (nearly always), else a new one. */
    private static HttpResponseStatus status(int code, byte[] h, int start, int end) {
        HttpResponseStatus standard = HttpResponseStatus.valueOf(code);
        String reason = standard.reasonPhrase();
        if (reason.length() == end - start) {
            boolean same = true;
            for (int i = 0; i < reason.length(); i++) {
                if (reason.charAt(i) != (char) (h[start + i] & 0xff)) {
                    same = false;
                    break;
                }
            }
            if (same) {
                return standard;
            }
        }
        return new HttpResponseStatus(code, new String(h, start, end - start, java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    /** Checks one field line; returns the end of its name. */
    private static int parseField(byte[] h, int start, int end) {
        byte first = h[start];
        if (first == ' ' || first == '\t') {
            // RFC 9112 §5.2: a proxy must reject or unfold; forwarding a fold could split the field elsewhere.
            throw new IllegalArgumentException("obsolete line folding in a response field");
        }
        int i = start;
        while (i < end && FieldSyntax.isTokenChar(h[i])) {
            i++;
        }
        if (i == start) {
            throw new IllegalArgumentException("a response field has an empty or invalid name");
        }
        int colon = colonAfter(h, i);
        if (colon >= end || h[colon] != ':') {
            throw new IllegalArgumentException("a response field name has an invalid character or no colon");
        }
        checkText(h, colon + 1, end, "field value");
        return i;
    }

    /** Skips whitespace between a name and its colon, which a proxy removes from responses (RFC 9112 §5.1). */
    private static int colonAfter(byte[] h, int nameEnd) {
        int i = nameEnd;
        while (h[i] == ' ' || h[i] == '\t') {
            i++;
        }
        return i;
    }

    /** Visible characters, space, tab and obs-text: no other control character, and no DEL. */
    private static void checkText(byte[] h, int start, int end, String what) {
        for (int i = start; i < end; i++) {
            if (!FieldSyntax.isFieldContent(h[i])) {
                throw new IllegalArgumentException("a control character in a response " + what);
            }
        }
    }

    private static long parseLength(byte[] h, int start, int end) {
        if (start == end || end - start > 18) {
            throw new IllegalArgumentException("invalid Content-Length");
        }
        long n = 0;
        for (int i = start; i < end; i++) {
            byte b = h[i];
            if (b < '0' || b > '9') {
                throw new IllegalArgumentException("invalid Content-Length");
            }
            n = n * 10 + (b - '0');
        }
        return n;
    }

    /** Whether the last coding of the last Transfer-Encoding field is chunked; chunked anywhere else fails. */
    private static boolean finalCodingIsChunked(HttpHeaders headers) {
        List<String> fields = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        for (int f = 0; f < fields.size(); f++) {
            String[] codings = fields.get(f).split(",", -1);
            for (int c = 0; c < codings.length; c++) {
                if (codings[c].trim().equalsIgnoreCase("chunked")) {
                    if (f != fields.size() - 1 || c != codings.length - 1) {
                        throw new IllegalArgumentException("chunked is not the final transfer coding");
                    }
                    return true;
                }
            }
        }
        return false;
    }

    // ---- body ----

    private void decodeFixed(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(Math.min(remaining, in.readableBytes()), maxPartSize);
        ByteBuf part = in.readRetainedSlice(n);
        remaining -= n;
        if (remaining == 0) {
            out.add(new DefaultLastHttpContent(part));
            state = State.HEAD;
        } else {
            out.add(new DefaultHttpContent(part));
        }
    }

    private void decodeChunkSize(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int lf = in.indexOf(start, Math.min(in.writerIndex(), start + MAX_CHUNK_LINE), (byte) '\n');
        if (lf < 0) {
            if (in.readableBytes() >= MAX_CHUNK_LINE) {
                failContent(out, new TooLongFrameException("chunk-size line longer than " + MAX_CHUNK_LINE + " bytes"));
            }
            return;
        }
        if (lf == start || in.getByte(lf - 1) != '\r') {
            failContent(out, new IllegalArgumentException("chunk-size line does not end in CRLF"));
            return;
        }
        int end = lf - 1;
        long size = 0;
        int i = start;
        for (; i < end; i++) {
            int d = Character.digit(in.getByte(i), 16);
            if (d < 0) {
                break;
            }
            if (i - start == 15) {
                failContent(out, new IllegalArgumentException("chunk size too large"));
                return;
            }
            size = size * 16 + d;
        }
        if (i == start || !validChunkExtensions(in, i, end)) {
            failContent(out, new IllegalArgumentException("invalid chunk-size line"));
            return;
        }
        in.readerIndex(lf + 1);
        if (size == 0) {
            state = State.TRAILERS;
        } else {
            remaining = size;
            state = State.CHUNK_DATA;
        }
    }

    /** After the size: nothing, or BWS then {@code ;} extensions of visible text (RFC 9112 §7.1.1). */
    private static boolean validChunkExtensions(ByteBuf in, int from, int end) {
        int i = from;
        while (i < end && (in.getByte(i) == ' ' || in.getByte(i) == '\t')) {
            i++;
        }
        if (i == end) {
            return true;
        }
        if (in.getByte(i) != ';') {
            return false;
        }
        for (; i < end; i++) {
            if (!FieldSyntax.isFieldContent(in.getByte(i))) {
                return false;
            }
        }
        return true;
    }

    private void decodeChunkData(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(Math.min(remaining, in.readableBytes()), maxPartSize);
        out.add(new DefaultHttpContent(in.readRetainedSlice(n)));
        remaining -= n;
        if (remaining == 0) {
            state = State.CHUNK_END;
        }
    }

    private void decodeChunkEnd(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 2) {
            return;
        }
        if (in.readByte() != '\r' || in.readByte() != '\n') {
            failContent(out, new IllegalArgumentException("chunk data not followed by CRLF"));
            return;
        }
        state = State.CHUNK_SIZE;
    }

    private void decodeTrailers(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        if (end - start >= 2 && in.getByte(start) == '\r' && in.getByte(start + 1) == '\n') {
            // No trailer fields: the common end of a chunked body.
            in.skipBytes(2);
            out.add(LastHttpContent.EMPTY_LAST_CONTENT);
            state = State.HEAD;
            return;
        }
        int trailerEnd = HeadLines.find(in, start, end, maxHeadSize);
        if (trailerEnd == HeadLines.NEEDS_MORE) {
            if (end - start > maxHeadSize) {
                failContent(out, new TooLongFrameException("trailer fields larger than " + maxHeadSize + " bytes"));
            }
            return;
        }
        if (trailerEnd < 0) {
            failContent(out, new IllegalArgumentException("invalid trailer section"));
            return;
        }
        byte[] t = new byte[trailerEnd - start];
        in.readBytes(t);
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, TRAILERS);
        try {
            int[] lineEnds = HeadLines.ends();
            int line = 0;
            int lineIndex = 0;
            while (true) {
                int lineEnd = lineEnds[lineIndex++];
                if (lineEnd == line) {
                    break;
                }
                int nameEnd = parseField(t, line, lineEnd);
                AsciiString name = new AsciiString(t, line, nameEnd - line, false);
                // Framing fields have no place in a trailer (RFC 9110 §6.5.1); Netty's decoder drops them too.
                if (!name.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)
                        && !name.contentEqualsIgnoreCase(HttpHeaderNames.TRANSFER_ENCODING)
                        && !name.contentEqualsIgnoreCase(HttpHeaderNames.TRAILER)) {
                    int valueStart = FieldSyntax.valueStart(t, colonAfter(t, nameEnd) + 1, lineEnd);
                    int valueEnd = FieldSyntax.valueEnd(t, valueStart, lineEnd);
                    last.trailingHeaders().add(name, new AsciiString(t, valueStart, valueEnd - valueStart, false));
                }
                line = lineEnd + 2;
            }
        } catch (IllegalArgumentException e) {
            failContent(out, e);
            return;
        }
        out.add(last);
        state = State.HEAD;
    }

    // ---- failures ----

    /** A head that cannot be forwarded: Sluice answers 502 bad_response; nothing after it is read. */
    private void fail(List<Object> out, Exception cause) {
        DefaultFullHttpResponse invalid = new DefaultFullHttpResponse(HttpVersion.HTTP_1_0,
                HttpResponseStatus.BAD_GATEWAY, Unpooled.EMPTY_BUFFER);
        invalid.setDecoderResult(DecoderResult.failure(cause));
        out.add(invalid);
        state = State.DISCARD;
    }

    /** A body that breaks its framing midway. */
    private void failContent(List<Object> out, Exception cause) {
        LastHttpContent invalid = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        invalid.setDecoderResult(DecoderResult.failure(cause));
        out.add(invalid);
        state = State.DISCARD;
    }


}
