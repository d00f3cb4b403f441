package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTP/2 stream's extended CONNECT (RFC 8441) while it waits for the endpoint's answer to its
 * WebSocket upgrade: the key the upgrade asked the endpoint with (HTTP/2 has none, so Sluice makes
 * one and checks the 101's {@code Sec-WebSocket-Accept} against it, RFC 6455 §4.2.2), and the DATA
 * the client sent before the answer (RFC 9113 §8.5 lets it), held for the tunnel. One per stream
 * that asks; used on the stream's event loop only.
 */
final class ExtendedConnect {
    private final String key = WebSocketKeys.newKey();
    private List<ByteBuf> early = new ArrayList<>(0);

    /** Asks the endpoint for the upgrade with this stream's key, on the request's HTTP/1.1 head. */
    void ask(HttpHeaders request) {
        request.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, key);
    }

    /** Bytes the client sent before the answer; ownership passes here. */
    void hold(ByteBuf bytes) {
        early.add(bytes);
    }

    /** Whether the endpoint's 101 answers this stream's key. */
    boolean accepted(HttpResponse switching) {
        return WebSocketKeys.accept(key).equals(switching.headers().get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT));
    }

    /** What was held for the tunnel, handed over to it. */
    List<ByteBuf> takeHeld() {
        List<ByteBuf> held = early;
        early = new ArrayList<>(0);
        return held;
    }

    /** The upgrade was answered otherwise than by a tunnel: what was held is dropped. */
    void drop() {
        early.forEach(ByteBuf::release);
        early.clear();
    }

    /**
     * The client's answer to the endpoint's 101: {@code 200} with its end-to-end fields
     * ({@code Sec-WebSocket-Protocol}, {@code -Extensions}), less the accept and connection-specific ones.
     */
    static Http2Headers answer(HttpResponse switching) {
        Http2Headers fields = new DefaultHttp2Headers(false);
        fields.status(HttpResponseStatus.OK.codeAsText());
        for (Map.Entry<String, String> field : switching.headers()) {
            String name = field.getKey().toLowerCase(Locale.ROOT);
            if (!name.equals("sec-websocket-accept") && !Http2Requests.connectionSpecific(name)) {
                fields.add(name, field.getValue());
            }
        }
        return fields;
    }
}
