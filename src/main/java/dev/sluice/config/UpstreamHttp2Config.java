package dev.sluice.config;

import java.time.Duration;
import java.util.Optional;

/**
 * A cluster's HTTP/2 connections to its endpoints ({@code clusters[].http2}, for
 * {@code protocol: h2c} and {@code h2}): the PING that proves a connection carrying streams is
 * still there. A connection that died without a FIN (a NAT or firewall forgot it, the backend's
 * host vanished) otherwise takes every new stream of its event loop into a black hole until each
 * request's own timeout.
 *
 * @param pingInterval a PING goes out once nothing has come from the endpoint for this long while
 *     the connection carries a stream; empty for {@code off}
 * @param pingTimeout how long a PING may go unanswered (its ACK, or any other frame) before the
 *     connection is closed and its streams fail
 */
public record UpstreamHttp2Config(Optional<Duration> pingInterval, Duration pingTimeout) {
    /**
     * 10 s: ten seconds without a frame while a stream waits is already unusual (a response in
     * progress sends DATA), and with {@link #DEFAULT_PING_TIMEOUT} a dead connection is found
     * within 15 s, half the default route timeout: a GET sent into it fails and is sent again on a
     * new connection while its deadline still has time. A PING is 17 bytes each way.
     */
    public static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(10);
    /**
     * 5 s: a live endpoint answers a PING from its I/O thread, in milliseconds, and any frame it
     * sends counts as the answer, so a busy endpoint cannot time out by sending a long response;
     * only one that sends nothing at all for 5 s is taken for gone.
     */
    public static final Duration DEFAULT_PING_TIMEOUT = Duration.ofSeconds(5);

    public static final UpstreamHttp2Config DEFAULT =
            new UpstreamHttp2Config(Optional.of(DEFAULT_PING_INTERVAL), DEFAULT_PING_TIMEOUT);
}
