package dev.sluice.config;

import java.time.Duration;

/**
 * A listener's HTTP/2 ({@code listeners[].http2}): whether it is offered, and the limits each
 * client connection gets. Every limit guards against one known attack on HTTP/2 servers; the
 * defaults are what a browser or gRPC client never comes near.
 *
 * @param enabled a TLS listener offers {@code h2} by ALPN (before {@code http/1.1})
 * @param cleartext a cleartext listener also takes HTTP/2 with prior knowledge (h2c: the client
 *     starts with the connection preface); HTTP/1.1 clients are served as before
 * @param maxConcurrentStreams streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS);
 *     one more is refused with {@code REFUSED_STREAM}
 * @param maxHeaderListSize the largest header list a request may have, decoded (SETTINGS_MAX_HEADER_LIST_SIZE);
 *     beyond it the request is refused, and a header block that keeps growing ends the connection
 * @param headerTableSize the HPACK dynamic table the client may make Sluice keep (SETTINGS_HEADER_TABLE_SIZE)
 * @param maxSmallContinuationFrames small CONTINUATION frames one header block may have before the
 *     connection is closed (the CONTINUATION flood of CVE-2024-27316)
 * @param maxResets RST_STREAM frames a client may send per {@code resetWindow} before its connection
 *     gets GOAWAY {@code ENHANCE_YOUR_CALM} (the rapid reset of CVE-2023-44487)
 * @param resetWindow the window {@code maxResets} counts over
 */
public record Http2Config(boolean enabled, boolean cleartext, int maxConcurrentStreams, int maxHeaderListSize,
                          int headerTableSize, int maxSmallContinuationFrames, int maxResets, Duration resetWindow) {
    /**
     * 100: the least RFC 9113 §6.5.2 asks a server to allow, and what nginx (128) and Netty
     * choose within a few. Each stream to an HTTP/1.1 cluster holds an upstream connection of its
     * own while it is in flight, so this is also how many upstream connections one client can hold.
     */
    public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 100;
    /** 64 KiB: the same bound as an HTTP/1.1 head ({@code max_header_size}), so a request fits whichever way it comes. */
    public static final int DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;
    /**
     * 4096: RFC 7541's default, what every client expects. The table is memory each connection
     * holds for its client; a larger one buys a few bytes of compression per request.
     */
    public static final int DEFAULT_HEADER_TABLE_SIZE = 4096;
    /**
     * 16: Netty's default. A real header block needs one CONTINUATION per 16 KiB, so a block of
     * tiny or empty ones is only ever a flood that keeps the decoder busy; large ones are bounded
     * by {@code max_header_list_size}.
     */
    public static final int DEFAULT_MAX_SMALL_CONTINUATION_FRAMES = 16;
    /**
     * 200 per 30 s: Netty's default since CVE-2023-44487. A browser resets a few streams when a
     * page is left or a fetch is aborted; an attack resets thousands a second, each costing the
     * server the request it had started.
     */
    public static final int DEFAULT_MAX_RESETS = 200;
    public static final Duration DEFAULT_RESET_WINDOW = Duration.ofSeconds(30);

    /** Offered on TLS listeners, not on cleartext ones, with every limit at its default. */
    public static final Http2Config DEFAULT = new Http2Config(true, false, DEFAULT_MAX_CONCURRENT_STREAMS,
            DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_HEADER_TABLE_SIZE, DEFAULT_MAX_SMALL_CONTINUATION_FRAMES,
            DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW);

    /** Not offered at all: ALPN offers {@code http/1.1} alone. */
    public static final Http2Config OFF = new Http2Config(false, false, DEFAULT_MAX_CONCURRENT_STREAMS,
            DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_HEADER_TABLE_SIZE, DEFAULT_MAX_SMALL_CONTINUATION_FRAMES,
            DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW);

    public Http2Config {
        if (maxConcurrentStreams < 1 || maxHeaderListSize < 1 || headerTableSize < 0 || maxSmallContinuationFrames < 1
                || maxResets < 1 || resetWindow.toSeconds() < 1) {
            throw new IllegalArgumentException("HTTP/2 limits must be positive (the reset window at least 1s)");
        }
    }

    /** The defaults with h2c (prior knowledge) on a cleartext listener. */
    public Http2Config withCleartext(boolean on) {
        return new Http2Config(enabled, on, maxConcurrentStreams, maxHeaderListSize, headerTableSize,
                maxSmallContinuationFrames, maxResets, resetWindow);
    }
}
