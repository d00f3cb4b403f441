package dev.sluice.http;

import io.netty.channel.ChannelOutboundInvoker;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;

/**
 * The receive window of Sluice's HTTP/2 connections, both sides (clients' and backends'): raised
 * once, at the start, from HTTP/2's 65,535 bytes to the most the protocol allows (as nginx does).
 * Each stream's own window (65,535 bytes) is what bounds what Sluice holds of a stream; with the
 * connection's window that small too, one stream whose reader stopped (a backend not reading an
 * upload, a client not reading its response from a shared backend connection) would keep its
 * bytes unread, so not given back, and stop every other stream on the connection.
 */
public final class Http2Windows {
    /** 2^31 - 1: RFC 9113 §6.9.1's largest window. */
    public static final int CONNECTION_WINDOW = Integer.MAX_VALUE;

    private Http2Windows() {
    }

    /** Writes the WINDOW_UPDATE on stream 0 that raises the connection's window, through Netty's Http2FrameCodec. */
    public static void widenConnectionWindow(ChannelOutboundInvoker toCodec) {
        toCodec.writeAndFlush(new DefaultHttp2WindowUpdateFrame(CONNECTION_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE));
    }
}
