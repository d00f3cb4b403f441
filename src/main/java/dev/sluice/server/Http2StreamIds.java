package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import java.util.Arrays;

/**
 * Makes a client's HEADERS frame on a stream it may no longer use a connection error, as RFC 9113
 * asks, where Netty's codec (which forgets a stream once it closes) resets that stream and reads on:
 * <ul>
 *   <li>a stream id lower than one the client already opened, never used itself: §5.1.1, a
 *       connection error of type {@code PROTOCOL_ERROR};
 *   <li>a stream the client already ended (END_STREAM) or reset, now closed: §5.1, a connection
 *       error of type {@code STREAM_CLOSED} (RFC 7540 said MUST, RFC 9113 says MAY; §5.4.1 lets any
 *       stream error be one). The client itself knows it may send nothing more there, so no frame
 *       in flight when Sluice reset the stream is mistaken for one: a stream Sluice refused or
 *       reset while the client was still sending is left to the codec, which resets it again;
 *   <li>a stream whose head the codec refused before it created the stream (a field RFC 9113 §8
 *       forbids, found while decoding the block; or one stream too many): the codec reset the id
 *       without using it, and would open it anew with the client's next HEADERS there, a request
 *       on a reused id (§5.1.1). That HEADERS is reset ({@code STREAM_CLOSED}), as the codec
 *       resets any frame on a stream it reset, and never reaches {@link ClientStream}: the codec
 *       decodes its block (HPACK's state is the connection's), then {@link RefusedHeads}, its
 *       frame listener's first step, refuses it. The connection goes on: that HEADERS may be the
 *       trailers the client sent before the reset reached it.
 * </ul>
 *
 * <p>Sits in front of the codec ({@code h2}) and reads only frame headers (nine bytes each, the
 * preface skipped) as the bytes pass, so it holds no frame. What it remembers is bounded: the
 * client's highest stream id, the streams it opened and has not ended ({@link #MAX_OPEN}), and the
 * ids it skipped ({@link #MAX_GAPS} runs). A client that makes either list overflow loses only the
 * strictness for the ids forgotten: the codec's stream error answers those, as before.
 */
final class Http2StreamIds extends ChannelInboundHandlerAdapter {
    private static final int HEADERS = 0x1, DATA = 0x0, RST_STREAM = 0x3;
    private static final int END_STREAM = 0x1;
    private static final int FRAME_HEADER = 9;

    /** 8 runs of skipped ids: a client that skips ids at all is rare; one that skips often gets the codec's answer. */
    static final int MAX_GAPS = 8;
    /**
     * 2: streams opened and not ended by the client are remembered up to twice the streams it may
     * have open at once, room for those Sluice refused or reset that the client has not ended.
     */
    static final int OPEN_PER_CONCURRENT_STREAM = 2;

    /** The codec whose connection error this raises. */
    private final Http2ConnectionHandler codec;
    /** The first step of the codec's frame listener: resets the HEADERS of a refused head's id. */
    private final RefusedHeads refusedHeads;
    private final int maxOpen;

    /** Bytes of the preface still to skip. */
    private int prefaceLeft = Http2CodecUtil.connectionPrefaceBuf().readableBytes();
    private final byte[] header = new byte[FRAME_HEADER];
    private int headerRead;
    /** Payload bytes of the current frame still to pass. */
    private long payloadLeft;

    /** The highest stream id the client opened; -1 before its first. */
    private int highest = -1;
    private int[] open = new int[8];
    private int openCount;
    /** Skipped ids as runs [from, to], lowest first. */
    private final int[] gapFrom = new int[MAX_GAPS];
    private final int[] gapTo = new int[MAX_GAPS];
    private int gapCount;
    /** Ids at or below this one were forgotten (a list overflowed): the codec answers them. */
    private int forgottenUpTo;
    private boolean failed;

    Http2StreamIds(Http2ConnectionHandler codec, int maxConcurrentStreams) {
        this.codec = codec;
        this.maxOpen = OPEN_PER_CONCURRENT_STREAM * Math.max(1, maxConcurrentStreams);
        if (codec != null) {
            refusedHeads = new RefusedHeads(codec.decoder().frameListener());
            codec.decoder().frameListener(refusedHeads);
        } else {
            refusedHeads = null;
        }
    }

    /** The decision for a client's HEADERS frame: null to let it through, else the connection error. */
    Http2Exception headers(int id, boolean endStream) {
        if (id == 0 || (id & 1) == 0) {
            return null; // the codec refuses these itself (PROTOCOL_ERROR)
        }
        if (id > highest) {
            if (id > highest + 2) {
                skipped(highest + 2, id - 2);
            }
            highest = id;
            if (!endStream) {
                opened(id);
            }
            return null;
        }
        int at = indexOfOpen(id);
        if (at >= 0) {
            // Its trailers (or a second head, which the codec refuses), unless the codec never
            // created the stream: see channelRead.
            if (endStream) {
                removeOpen(at);
            }
            return null;
        }
        if (id <= forgottenUpTo) {
            return null;
        }
        if (inGap(id)) {
            return Http2Exception.connectionError(Http2Error.PROTOCOL_ERROR,
                    "HEADERS for stream %d, lower than stream %d already opened (RFC 9113 §5.1.1)", id, highest);
        }
        return Http2Exception.connectionError(Http2Error.STREAM_CLOSED,
                "HEADERS for stream %d, which the client had ended (RFC 9113 §5.1)", id);
    }

    /** The client ended or reset stream {@code id}. */
    void ended(int id) {
        int at = indexOfOpen(id);
        if (at >= 0) {
            removeOpen(at);
        }
    }

    private void opened(int id) {
        if (openCount == maxOpen) {
            // The oldest is forgotten, and with it every id at or below it.
            forgottenUpTo = Math.max(forgottenUpTo, open[0]);
            removeOpen(0);
        }
        if (openCount == open.length) {
            open = Arrays.copyOf(open, Math.min(maxOpen, open.length * 2));
        }
        open[openCount++] = id; // ids only grow: the list stays sorted
    }

    private int indexOfOpen(int id) {
        return Arrays.binarySearch(open, 0, openCount, id);
    }

    private void removeOpen(int at) {
        System.arraycopy(open, at + 1, open, at, openCount - at - 1);
        openCount--;
    }

    private void skipped(int from, int to) {
        if (gapCount == MAX_GAPS) {
            forgottenUpTo = Math.max(forgottenUpTo, gapTo[0]);
            System.arraycopy(gapFrom, 1, gapFrom, 0, MAX_GAPS - 1);
            System.arraycopy(gapTo, 1, gapTo, 0, MAX_GAPS - 1);
            gapCount--;
        }
        gapFrom[gapCount] = from;
        gapTo[gapCount] = to;
        gapCount++;
    }

    private boolean inGap(int id) {
        for (int i = 0; i < gapCount; i++) {
            if (id >= gapFrom[i] && id <= gapTo[i]) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in) || failed) {
            if (failed) {
                ReferenceCountUtil.release(msg);
                return;
            }
            ctx.fireChannelRead(msg);
            return;
        }
        int at = in.readerIndex();
        int end = in.writerIndex();
        while (at < end) {
            if (prefaceLeft > 0) {
                int n = Math.min(prefaceLeft, end - at);
                prefaceLeft -= n;
                at += n;
            } else if (payloadLeft > 0) {
                int n = (int) Math.min(payloadLeft, end - at);
                payloadLeft -= n;
                at += n;
            } else {
                int frameStart = at - headerRead;
                while (headerRead < FRAME_HEADER && at < end) {
                    header[headerRead++] = in.getByte(at++);
                }
                if (headerRead < FRAME_HEADER) {
                    break;
                }
                headerRead = 0;
                payloadLeft = ((header[0] & 0xffL) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
                int type = header[3] & 0xff;
                int stream = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8)
                        | (header[8] & 0xff);
                // A second HEADERS on a stream the client opened: its trailers, or a head on an id
                // whose first head the codec refused without creating the stream.
                boolean again = type == HEADERS && indexOfOpen(stream) >= 0;
                Http2Exception error = frame(type, header[4] & 0xff, stream);
                if (again) {
                    // The codec reads what came before first, so it has read the stream's head
                    // (or refused it) by the time this HEADERS is judged.
                    handOnBefore(ctx, in, frameStart);
                    if (refusedHeads != null && neverCreated(stream)) {
                        refusedHeads.next = stream;
                    }
                }
                if (error != null) {
                    // What came before goes to the codec first, so its state (and the GOAWAY's
                    // last stream) is as the client's frames left it; then the error, and nothing more.
                    failed = true;
                    handOnBefore(ctx, in, frameStart);
                    in.release();
                    codec.onError(ctx.pipeline().context(codec), false, error);
                    return;
                }
            }
        }
        ctx.fireChannelRead(in);
    }

    /**
     * Passes the bytes of {@code in} before the frame at {@code frameStart} on to the codec, and
     * takes them out of {@code in} (those of a frame header begun in an earlier read went on then).
     */
    private static void handOnBefore(ChannelHandlerContext ctx, ByteBuf in, int frameStart) {
        int before = Math.max(in.readerIndex(), frameStart) - in.readerIndex();
        if (before > 0) {
            ctx.fireChannelRead(in.retainedSlice(in.readerIndex(), before));
            in.skipBytes(before);
        }
    }

    /** The codec reset stream {@code id}'s head without creating the stream: its next HEADERS would. */
    private boolean neverCreated(int id) {
        Http2Connection connection = codec.connection();
        return connection.stream(id) == null && !connection.streamMayHaveExisted(id);
    }

    private Http2Exception frame(int type, int flags, int stream) {
        boolean endStream = (flags & END_STREAM) != 0;
        switch (type) {
            case HEADERS -> {
                return headers(stream, endStream);
            }
            case DATA -> {
                if (endStream) {
                    ended(stream);
                }
            }
            case RST_STREAM -> ended(stream);
            default -> { }
        }
        return null;
    }

    /**
     * The codec's frame listener, first step: a HEADERS on the stream {@link Http2StreamIds} found
     * the codec reset without creating is a stream error, so the codec resets it (again) and the
     * stream it just created for it closes before its headers reach {@link ClientStream}.
     */
    static final class RefusedHeads extends Http2FrameListenerDecorator {
        /** The stream whose HEADERS the codec reads next, when that HEADERS must be reset; 0 if none. */
        int next;

        RefusedHeads(Http2FrameListener listener) {
            super(listener);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                boolean endOfStream) throws Http2Exception {
            refuse(streamId);
            super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
                short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
            refuse(streamId);
            super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
        }

        private void refuse(int streamId) throws Http2Exception {
            if (streamId == next) {
                next = 0;
                throw Http2Exception.streamError(streamId, Http2Error.STREAM_CLOSED,
                        "HEADERS for stream %d, whose head was refused: a stream id is not reused (RFC 9113 §5.1.1)",
                        streamId);
            }
        }
    }
}
