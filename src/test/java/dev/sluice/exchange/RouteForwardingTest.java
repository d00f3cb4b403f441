package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.StrictRequestDecoder;
import dev.sluice.route.Route;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What a route's rules cost the forwarded head: a route without rules, or with only a path
 * rewrite, keeps the request's bytes (Sluice's fast path); header rules and a fixed Host make
 * its map and edit it.
 */
class RouteForwardingTest {

    private static Route route(String rules) throws Exception {
        String yaml = """
                listeners: [ { address: "127.0.0.1:0" } ]
                routes:
                  - match: { path_prefix: /api/ }
                    cluster: app
                %s
                clusters: [ { name: app, endpoints: [ "127.0.0.1:9001" ] } ]
                """.formatted(rules.indent(4).stripTrailing());
        return new Route(ConfigLoader.parse(yaml, "test.yaml").routes().get(0));
    }

    private static ReceivedRequest received(String head) {
        EmbeddedChannel ch = new EmbeddedChannel(new StrictRequestDecoder(StrictRequestDecoder.config(8192, 8192, 8192),
                () -> { }));
        ch.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
        ReceivedRequest request = (ReceivedRequest) ch.readInbound();
        ch.finishAndReleaseAll();
        return request;
    }

    private static String forward(String rules, ReceivedRequest request) throws Exception {
        Route route = route(rules);
        HeaderPolicy.prepareForwarding(request, request.verbatim() ? request : null, "id-1", "shop.example",
                "192.0.2.1", false, route, name -> "<" + name + ">");
        if (!request.forwardedVerbatim()) {
            return null;
        }
        ByteBuf head = request.writeForwarded(ByteBufAllocator.DEFAULT);
        try {
            return head.toString(StandardCharsets.ISO_8859_1);
        } finally {
            head.release();
        }
    }

    private static final String HEAD = "GET /api/orders?id=7 HTTP/1.1\r\nHost: shop.example\r\nCookie: a=b\r\n\r\n";

    @Test
    void aRouteWithoutRulesForwardsTheHeadFromItsBytes() throws Exception {
        ReceivedRequest request = received(HEAD);
        assertThat(request.verbatim()).isTrue();
        assertThat(forward("", request)).startsWith("GET /api/orders?id=7 HTTP/1.1\r\nHost: shop.example\r\n"
                + "Cookie: a=b\r\nx-request-id: id-1\r\n");
    }

    @Test
    void aPathRewriteChangesOnlyTheRequestLineAndKeepsTheBytes() throws Exception {
        assertThat(forward("strip_prefix: true", received(HEAD)))
                .startsWith("GET /orders?id=7 HTTP/1.1\r\nHost: shop.example\r\nCookie: a=b\r\n");
        assertThat(forward("rewrite: { regex: \"^/api/(\\\\w+)$\", replace: /v2/\\1 }", received(HEAD)))
                .startsWith("GET /v2/orders?id=7 HTTP/1.1\r\n");
    }

    @Test
    void headerRulesAndAFixedHostEditTheMap() throws Exception {
        ReceivedRequest request = received(HEAD);
        assertThat(forward("request_headers: { set: { x-client: \"${client}\" }, remove: [cookie] }", request)).isNull();
        assertThat(request.headers().get("x-client")).isEqualTo("<client>");
        assertThat(request.headers().get("cookie")).isNull();
        assertThat(request.headers().get("x-request-id")).isEqualTo("id-1");
        assertThat(request.headers().get("via")).isEqualTo("1.1 sluice");

        ReceivedRequest fixed = received(HEAD);
        assertThat(forward("host: internal.example", fixed)).isNull();
        assertThat(fixed.headers().get("host")).isEqualTo("internal.example");
        assertThat(fixed.headers().get("x-forwarded-host")).isEqualTo("shop.example");
    }
}
