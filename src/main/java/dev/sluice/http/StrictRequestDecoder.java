package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Netty's request decoder, configured strictly, plus the two checks it lacks: a request line
 * split by single spaces only ({@link #checkRequestLine}) and obsolete line folding. Netty 4.2 already rejects bare LF line endings, Content-Length with
 * Transfer-Encoding, differing repeated Content-Length, a final coding other than chunked,
 * invalid chunk sizes, bad header-name characters and whitespace before the colon; each of those
 * becomes a message with a failed {@link DecoderResult}, which the gateway answers with 400.
 *
 * <p>RFC 9112 §5.2: a server MUST reject a request with obs-fold in any header field (or
 * replace it with spaces); front ends that unfold while back ends do not is a known smuggling
 * vector, so Sluice rejects. Netty unfolds silently, so this decoder scans each head before
 * Netty parses it: a line of the head that starts with SP or HTAB is a fold.
 */
public final class StrictRequestDecoder extends HttpRequestDecoder {
    /** Tells the connection that a request head has started but is not complete yet. */
    public interface HeadProgress {
        void partialHead();
    }

    private final HeadProgress progress;
    /** True from the end of one message until the next message's head has been decoded. */
    private boolean inHead = true;
    private boolean rejected;
    /** A non-blank line of the current head was seen. */
    private boolean headStarted;
    /** The current head's request line was whole and well-formed ({@link #checkRequestLine}). */
    private boolean requestLineChecked;
    /** The fields of the head Netty is about to parse were checked whole by {@link #scanHead}. */
    private boolean prevalidated;
    /** CR and LF bytes read so far before the current head's request line ({@link #skipBlankLines}). */
    private int blankBytes;
    private final int maxRequestLine;
    private final int maxHeadBytes;
    /** Header maps for heads already checked: no validation on add or set. */
    private static final HttpHeadersFactory CHECKED_HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    public StrictRequestDecoder(HttpDecoderConfig config, HeadProgress progress) {
        super(config);
        this.progress = progress;
        this.maxRequestLine = config.getMaxInitialLineLength();
        // Netty counts the request line and the fields against two limits; within the smaller
        // of the two for the whole head, neither can be exceeded.
        this.maxHeadBytes = Math.min(config.getMaxInitialLineLength(), config.getMaxHeaderSize());
    }

    public static HttpDecoderConfig config(int maxRequestLine, int maxHeaderSize, int maxChunkSize) {
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
        if (inHead && !headStarted && !skipBlankLines(buffer, out)) {
            return;
        }
        boolean freshHead = inHead && !headStarted;
        if (inHead && !requestLineChecked) {
            RequestLine line = checkRequestLine(buffer);
            if (line == RequestLine.MALFORMED) {
                reject(buffer, out, "the request line is not METHOD SP TARGET SP HTTP/DIGIT.DIGIT with single spaces (RFC 9112 §3)");
                return;
            }
            requestLineChecked = line == RequestLine.WELL_FORMED;
        }
        // Netty's line parser counts a CR whose LF has not come yet against the line's limit, so a
        // line exactly at the limit (max_request_line, or max_header_size for the head) would be
        // refused as too long or read, as the packets happened to be cut between its CR and LF.
        // So a head's last CR is held back until what follows it is here; everything before it is
        // decoded now, exactly as if the CR had not arrived yet (had the whole head waited
        // instead, a bad request line would be refused or not, and a body ending in CR complete
        // or not, by where the packets were cut). Both found by RequestDecodingFuzzTest.
        boolean holdCr = inHead && buffer.isReadable() && buffer.getByte(buffer.writerIndex() - 1) == '\r';
        if (holdCr && buffer.readableBytes() == 1) {
            progress.partialHead();
            return;
        }
        if (inHead && hasFoldedLine(buffer)) {
            reject(buffer, out, "obsolete line folding in a header (RFC 9112 §5.2)");
            return;
        }
        int before = out.size();
        Scan scan = freshHead ? scanHead(buffer, out) : Scan.NOT_WHOLE_OR_INVALID;
        if (scan == Scan.DECODED) {
            track(out, before);
            return;
        }
        prevalidated = scan == Scan.FIELDS_VALID;
        if (holdCr && inHead) {
            ByteBuf beforeCr = buffer.slice(buffer.readerIndex(), buffer.readableBytes() - 1);
            super.decode(ctx, beforeCr, out);
            buffer.skipBytes(beforeCr.readerIndex());
        } else {
            super.decode(ctx, buffer, out);
        }
        prevalidated = false;
        track(out, before);
        // Netty consumes a head's complete lines as they come, so a head cut at a line's end leaves
        // nothing in the buffer: headStarted says one is under way all the same.
        if (inHead && (headStarted || buffer.isReadable()) && !rejected) {
            progress.partialHead();
        }
    }

    /**
     * Consumes the blank lines (CR and LF bytes) before a request line, which RFC 9112 §2.2 lets a
     * server ignore, counting them across reads: more than {@code max_request_line} of them are
     * refused as a request line too long (414). Netty's decoder skipped them itself, but counted
     * them only within one read, so the same bytes were refused 414 in one packet and skipped
     * without end in several. Found by RequestDecodingFuzzTest (seed many-blank-lines-cut).
     * Returns whether bytes of a request line follow in the buffer.
     */
    private boolean skipBlankLines(ByteBuf buffer, List<Object> out) {
        int i = buffer.readerIndex();
        int end = buffer.writerIndex();
        while (i < end && (buffer.getByte(i) == '\r' || buffer.getByte(i) == '\n')) {
            i++;
        }
        blankBytes += i - buffer.readerIndex();
        buffer.readerIndex(i);
        if (blankBytes > maxRequestLine) {
            reject(buffer, out, new TooLongHttpLineException(
                    "more than " + maxRequestLine + " bytes of blank lines before the request line"));
            return false;
        }
        if (i == end) {
            return false;
        }
        blankBytes = 0; // the request line starts here
        return true;
    }

    /** Ends the connection's decoding with one request marked failed, which the gateway answers with 400. */
    private void reject(ByteBuf buffer, List<Object> out, String why) {
        reject(buffer, out, new IllegalArgumentException(why));
    }

    /** Ends the connection's decoding with one request marked failed for this cause (its kind: RequestChecks). */
    private void reject(ByteBuf buffer, List<Object> out, Exception cause) {
        rejected = true;
        buffer.skipBytes(buffer.readableBytes());
        DefaultFullHttpRequest bad = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request");
        bad.setDecoderResult(DecoderResult.failure(cause));
        out.add(bad);
    }

    /** What {@link #checkRequestLine} found. */
    private enum RequestLine {
        /** Not all of it has arrived, and nothing so far is wrong. */
        INCOMPLETE,
        WELL_FORMED,
        MALFORMED
    }

    /**
     * RFC 9112 §3: {@code request-line = method SP request-target SP HTTP-version}, exactly.
     * The RFC lets a server also split on HTAB, VT, FF, bare CR or runs of spaces (§3), and Netty
     * does; a back end that does not then reads another request line from the same bytes, which is
     * what request smuggling exploits, so Sluice refuses them all, as nginx does. Checked on the
     * bytes before Netty's lenient split sees them: leading or trailing whitespace, two spaces in a
     * row, more or fewer than two spaces, any control character or any byte that is not ASCII. Decided as early as the bytes
     * allow, since a partial line is left in the buffer until its LF arrives. Empty lines before
     * it are skipped (RFC 9112 §2.2).
     */
    private RequestLine checkRequestLine(ByteBuf buffer) {
        int end = buffer.writerIndex();
        int i = buffer.readerIndex();
        while (i < end && (buffer.getByte(i) == '\r' || buffer.getByte(i) == '\n')) {
            i++;
        }
        int start = i;
        int spaces = 0;
        int versionStart = -1;
        // A line of maxRequestLine bytes is read to its LF, one past its CR (had the look stopped
        // at the CR, a line at the limit would be "not whole" here while Netty takes it whole, and
        // the next packet's look would begin at the line after it; found by RequestDecodingFuzzTest).
        for (; i < end && i - start <= maxRequestLine + 1; i++) {
            byte b = buffer.getByte(i);
            if (b == ' ') {
                if (i == start || buffer.getByte(i - 1) == ' ' || ++spaces > 2) {
                    return RequestLine.MALFORMED;
                }
                versionStart = i + 1;
            } else if (b == '\r' && i + 1 == end) {
                return RequestLine.INCOMPLETE; // its LF has not arrived yet
            } else if (b == '\r' && buffer.getByte(i + 1) == '\n') {
                continue; // the CR of the CRLF that ends the line
            } else if (b == '\n') {
                boolean cr = i > start && buffer.getByte(i - 1) == '\r';
                int last = cr ? i - 2 : i - 1;
                return spaces == 2 && last >= start && buffer.getByte(last) != ' ' && isVersion(buffer, versionStart, last + 1)
                        ? RequestLine.WELL_FORMED : RequestLine.MALFORMED;
            } else if (b < 0x20 || b == 0x7f) {
                // A control character, or a byte of 0x80 and up (negative here): the request line
                // is ASCII (RFC 9112 §3, RFC 3986); Netty's parser let such bytes into the target,
                // which reached the endpoint as they came. Found by ProxyDifferentialFuzzTest.
                return RequestLine.MALFORMED;
            }
        }
        // Too long: Netty's limit answers it. Else the rest has not arrived.
        return RequestLine.INCOMPLETE;
    }

    /**
     * RFC 9112 §2.3: {@code HTTP-version = HTTP-name "/" DIGIT "." DIGIT}, {@code HTTP-name} in
     * upper case. Netty's parser upper-cases the name and takes any number of digits, and makes
     * such a version (say {@code HTtP/1.0} or {@code HTTP/01.0}) keep-alive by default, as if it
     * were 1.1: an HTTP/1.0 request that asked for no keep-alive kept its connection open and the
     * next request was served (found by ProxyDifferentialFuzzTest, seed version-case-keeps-alive).
     */
    private static boolean isVersion(ByteBuf buffer, int start, int end) {
        return end - start == 8 && buffer.getByte(start) == 'H' && buffer.getByte(start + 1) == 'T'
                && buffer.getByte(start + 2) == 'T' && buffer.getByte(start + 3) == 'P' && buffer.getByte(start + 4) == '/'
                && isDigit(buffer.getByte(start + 5)) && buffer.getByte(start + 6) == '.' && isDigit(buffer.getByte(start + 7));
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** Follows the messages decoded into {@code out} from {@code before}: where a head starts, what failed. */
    private void track(List<Object> out, int before) {
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
                requestLineChecked = false;
                if (last.decoderResult().isFailure()) {
                    rejected = true;
                }
            }
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

    /** What {@link #scanHead} made of the buffer. */
    private enum Scan {
        /** No whole head, or a field line that is not well-formed: Netty parses and validates. */
        NOT_WHOLE_OR_INVALID,
        /** A whole head with well-formed fields that Netty parses (a body, an unusual request line). */
        FIELDS_VALID,
        /** The common request, decoded here (see {@link #scanHead}). */
        DECODED
    }

    /**
     * Looks at a whole head before Netty does. Its field lines must each be a token, a colon and
     * field content (RFC 9110 §5.5); then, for the common request — a standard method, a target
     * of visible ASCII, HTTP/1.1 or 1.0, no Content-Length or Transfer-Encoding (no body) — it
     * decodes the head here, into what Netty's decoder makes of it (the request, then an empty
     * last content), and consumes it. Anything else it leaves in the buffer for Netty, which
     * judges it as before. Within the configured size limits only.
     */
    private Scan scanHead(ByteBuf buffer, List<Object> out) {
        int end = buffer.writerIndex();
        int start = buffer.readerIndex();
        while (start < end && (buffer.getByte(start) == '\r' || buffer.getByte(start) == '\n')) {
            start++;
        }
        int headEnd = HeadLines.find(buffer, start, end, maxHeadBytes);
        if (headEnd < 0) {
            return Scan.NOT_WHOLE_OR_INVALID;
        }
        int[] lineEnds = HeadLines.ends();
        if (lineEnds[0] > maxRequestLine) {
            return Scan.NOT_WHOLE_OR_INVALID;
        }
        byte[] h = new byte[headEnd - start];
        buffer.getBytes(start, h);
        boolean body = false;
        int line = lineEnds[0] + 2;
        for (int l = 1; lineEnds[l] != line; l++) { // up to the blank line
            int lineEnd = lineEnds[l];
            int nameEnd = line;
            while (nameEnd < lineEnd && FieldSyntax.isTokenChar(h[nameEnd])) {
                nameEnd++;
            }
            if (nameEnd == line || nameEnd == lineEnd || h[nameEnd] != ':') {
                return Scan.NOT_WHOLE_OR_INVALID;
            }
            for (int j = nameEnd + 1; j < lineEnd; j++) {
                if (!FieldSyntax.isFieldContent(h[j])) {
                    return Scan.NOT_WHOLE_OR_INVALID;
                }
            }
            body |= FieldNames.spells(h, line, nameEnd, HttpHeaderNames.CONTENT_LENGTH)
                    || FieldNames.spells(h, line, nameEnd, HttpHeaderNames.TRANSFER_ENCODING);
            line = lineEnd + 2;
        }
        if (body) {
            return Scan.FIELDS_VALID; // Netty's framing checks and body decoding
        }
        int eol = lineEnds[0];
        HttpMethod method = fastMethod(h, eol);
        if (method == null) {
            return Scan.FIELDS_VALID;
        }
        int targetStart = method.name().length() + 1;
        int targetEnd = targetStart;
        while (targetEnd < eol && h[targetEnd] > 0x20 && h[targetEnd] < 0x7f) {
            targetEnd++;
        }
        HttpVersion version = targetEnd > targetStart && eol - targetEnd == 9 && h[targetEnd] == ' '
                ? version(h, targetEnd + 1) : null;
        if (version == null) {
            return Scan.FIELDS_VALID;
        }
        String target = new String(h, targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1);
        // The head stays bytes (ReceivedRequest makes a map of its fields only if asked); what the
        // gateway needs of it, and whether it can be forwarded from its bytes, is noted here.
        ReceivedRequest request = new ReceivedRequest(version, method, target, h, eol + 2, h.length - 2);
        boolean verbatim = h[targetStart] == '/';
        boolean idempotencyKey = false;
        int connectionTokens = 0;
        int fields = 0;
        line = eol + 2;
        for (int l = 1; lineEnds[l] != line; l++) { // up to the blank line
            int lineEnd = lineEnds[l];
            int nameEnd = line;
            while (h[nameEnd] != ':') {
                nameEnd++;
            }
            int valueStart = FieldSyntax.valueStart(h, nameEnd + 1, lineEnd);
            int valueEnd = FieldSyntax.valueEnd(h, valueStart, lineEnd);
            fields++;
            if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.HOST)) {
                request.hostValue(valueStart, valueEnd);
            } else if (HopByHop.is(h, line, nameEnd)) {
                request.dropLine(line, lineEnd + 2);
                if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.CONNECTION)) {
                    connectionTokens |= HopByHop.connectionTokens(h, valueStart, valueEnd);
                }
            } else if (FieldNames.spells(h, line, nameEnd, FieldNames.IDEMPOTENCY_KEY)) {
                idempotencyKey = true;
            } else if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.USER_AGENT)) {
                request.userAgentValue(valueStart, valueEnd);
            } else if (FieldNames.spells(h, line, nameEnd, HttpHeaderNames.REFERER)) {
                request.refererValue(valueStart, valueEnd);
            } else if (FieldNames.spells(h, line, nameEnd, TraceParent.TRACEPARENT)) {
                request.traceparentValue(valueStart, valueEnd);
            } else if (FieldNames.spells(h, line, nameEnd, TraceParent.TRACESTATE)) {
                request.tracestateSeen();
            } else if (needsEdit(h, line, nameEnd)) {
                verbatim = false;
            }
            line = lineEnd + 2;
        }
        boolean keepAlive = (connectionTokens & HopByHop.CLOSE) == 0
                && (version == HttpVersion.HTTP_1_1 || (connectionTokens & HopByHop.KEEP_ALIVE) != 0);
        // A request without Host gets the endpoint's as it is sent (HeaderPolicy.withHost), from its map.
        // A traceparent to replace (several, or invalid) is replaced in the map: rare, and never the common request.
        request.facts(fields, verbatim && request.hostCount() > 0 && (connectionTokens & HopByHop.OTHER) == 0
                && request.traceContextForwardable(), keepAlive,
                idempotencyKey);
        buffer.readerIndex(headEnd);
        out.add(request);
        out.add(LastHttpContent.EMPTY_LAST_CONTENT);
        return Scan.DECODED;
    }

    private static HttpVersion version(byte[] h, int at) {
        if (h[at] != 'H' || h[at + 1] != 'T' || h[at + 2] != 'T' || h[at + 3] != 'P' || h[at + 4] != '/'
                || h[at + 5] != '1' || h[at + 6] != '.') {
            return null;
        }
        return h[at + 7] == '1' ? HttpVersion.HTTP_1_1 : h[at + 7] == '0' ? HttpVersion.HTTP_1_0 : null;
    }

    /**
     * Fields that keep a request from being forwarded from its bytes: ones the gateway weighs and
     * rewrites ({@code X-Forwarded-*}, {@code x-request-id}), {@code Expect} (removed), and a field
     * named {@code close} (which {@code Connection: close} would name, so removed).
     */
    private static final AsciiString[] NEED_EDIT = {
        FieldNames.X_FORWARDED_FOR, FieldNames.X_FORWARDED_PROTO, FieldNames.X_FORWARDED_HOST,
        FieldNames.X_REQUEST_ID, HttpHeaderNames.EXPECT, HttpHeaderValues.CLOSE};

    private static boolean needsEdit(byte[] h, int start, int end) {
        for (AsciiString name : NEED_EDIT) {
            if (FieldNames.spells(h, start, end, name)) {
                return true;
            }
        }
        return false;
    }

    /** Methods decoded here; others (and CONNECT, which Sluice refuses) go through Netty. */
    private static final HttpMethod[] FAST_METHODS = {
        HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.OPTIONS, HttpMethod.PATCH};

    /** The method that starts the request line, followed by SP, if it is one decoded here; else null. */
    private static HttpMethod fastMethod(byte[] h, int eol) {
        outer:
        for (HttpMethod method : FAST_METHODS) {
            byte[] name = method.asciiName().array();
            int offset = method.asciiName().arrayOffset();
            int length = method.asciiName().length();
            if (length >= eol || h[length] != ' ') {
                continue;
            }
            for (int i = 0; i < length; i++) {
                if (h[i] != name[offset + i]) {
                    continue outer;
                }
            }
            return method;
        }
        return null;
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
            } else if (lineStart && headStarted
                    && (b == '\n' || i + 1 < end && buffer.getByte(i + 1) == '\n')) {
                // The blank line that ends the head: what follows is body, not scanned. (A line
                // that only starts with a bare CR is not one: had the scan stopped there, a fold
                // after it went to Netty, which unfolds, when the head came in one packet, and was
                // refused when it came in several. Found by RequestDecodingFuzzTest.)
                return false;
            }
            lineStart = b == '\n';
            i++;
        }
        return false;
    }
}
