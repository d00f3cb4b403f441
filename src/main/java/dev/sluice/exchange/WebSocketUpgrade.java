package dev.sluice.exchange;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The WebSocket switch (RFC 6455 §4.1): a request asking to upgrade its connection
 * ({@code Upgrade: websocket}, {@code Connection: Upgrade}) asks the endpoint too, and the
 * endpoint's 101 turns the client's connection and the upstream one into a byte tunnel
 * ({@link Downstream#tunnel}). {@code Upgrade} and {@code Connection} are hop-by-hop, so each hop
 * is asked, and answered, anew; the {@code Sec-WebSocket-*} fields are end-to-end and go through.
 */
final class WebSocketUpgrade {
    private WebSocketUpgrade() {
    }

    /** The upgrade asked of the endpoint, on the request whose hop-by-hop fields were removed. */
    static void askEndpoint(HttpHeaders request) {
        upgradeToWebSocket(request);
    }

    /** The endpoint's 101 made the client's: its hop-by-hop fields replaced, Sluice's Via added. */
    static void answerClient(HttpHeaders switching) {
        HeaderPolicy.removeHopByHop(switching);
        HeaderPolicy.appendVia(switching);
        upgradeToWebSocket(switching);
    }

    private static void upgradeToWebSocket(HttpHeaders headers) {
        headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    }
}
