package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.observe.AccessLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/1.1 connection on its own, driven through an {@link EmbeddedChannel}: request order,
 * keep-alive and close, local replies and the drain. Nothing here reaches an endpoint (no route
 * matches), so every answer is Sluice's own.
 */
class ClientConnectionTest {
    private static final String YAML = """
            listeners:
              - address: 127.0.0.1:0
            routes:
              - match: { path_prefix: /only/ }
                cluster: app
            clusters:
              - name: app
                endpoints: [127.0.0.1:9]
            """;

    private final java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger();
    private final EmbeddedChannel client = new EmbeddedChannel();
    private Gateway gateway;

    @BeforeEach
    void connect() throws Exception {
        SluiceConfig config = ConfigLoader.parse(YAML, "<test>");
        gateway = new Gateway(config, AccessLog.DISABLED, Clock.systemUTC(), System::nanoTime,
                () -> "id-" + ids.incrementAndGet());
        // The channel was registered and went active before it had handlers: the connection is told now.
        gateway.serveOn(client.eventLoop());
        gateway.serveClient(client, new ListenerRuntime(config.listeners().get(0)));
        client.pipeline().fireChannelActive();
    }

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
        gateway.close();
    }

    private void send(String text) {
        client.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
    }

    /** Everything written to the client so far. */
    private String received() {
        StringBuilder text = new StringBuilder();
        ByteBuf part;
        while ((part = client.readOutbound()) != null) {
            text.append(part.toString(StandardCharsets.ISO_8859_1));
            part.release();
        }
        return text.toString();
    }

    private static int count(String text, String what) {
        return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }

    @Test
    void pipelinedRequestsAreAnsweredInTheOrderTheyCameOnOneConnection() {
        send("GET /one HTTP/1.1\r\nHost: a\r\nx-request-id: first\r\n\r\n"
                + "GET /two HTTP/1.1\r\nHost: a\r\nx-request-id: second\r\n\r\n"
                + "GET /three HTTP/1.1\r\nHost: a\r\nx-request-id: third\r\n\r\n");
        String out = received();
        assertThat(count(out, "HTTP/1.1 404 ")).isEqualTo(3);
        int first = out.indexOf("request-id: first");
        int second = out.indexOf("request-id: second");
        int third = out.indexOf("request-id: third");
        assertThat(first).isGreaterThanOrEqualTo(0);
        assertThat(second).isGreaterThan(first);
        assertThat(third).isGreaterThan(second);
        assertThat(client.isOpen()).isTrue();
    }

    @Test
    void anAmbiguousRequestGets400AndItsConnectionCloses() {
        send("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        String out = received();
        assertThat(out).startsWith("HTTP/1.1 400 ").contains("x-sluice-error: bad_request", "connection: close");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void anHttp10ClientThatAsksForKeepAliveIsToldItsConnectionStaysOpen() {
        send("GET /nowhere HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        String out = received();
        assertThat(out).startsWith("HTTP/1.1 404 ").containsIgnoringCase("connection: keep-alive");
        assertThat(client.isOpen()).isTrue();
        send("GET /nowhere HTTP/1.0\r\n\r\n");
        assertThat(received()).startsWith("HTTP/1.1 404 ").containsIgnoringCase("connection: close");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void anHttp10ClientWhoseKeepAliveIsNotTheTokenIsClosed() {
        // Found by ProxyDifferentialFuzzTest: "\u00a0keep-alive" is no keep-alive token (obs-text
        // is not whitespace), but Netty's isKeepAlive, on the header map's byte values, trimmed it as one.
        send("GET /nowhere HTTP/1.0\r\nConnection:\u00a0keep-alive\r\nHost: a\r\n\r\n");
        assertThat(received()).startsWith("HTTP/1.1 404 ").containsIgnoringCase("connection: close");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void theFieldLimitCountsTheClientsFieldsNotThoseSluiceAdds() {
        // Found by ProxyDifferentialFuzzTest: a head that is not forwarded from its bytes (here its
        // X-Forwarded-For) was counted after Sluice added x-request-id and traceparent, so 99
        // fields of a client's were refused 431 at the limit of 100.
        StringBuilder head = new StringBuilder("GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n");
        for (int i = 0; i < 98; i++) {
            head.append("X-").append(i).append(": v\r\n");
        }
        send(head.append("\r\n").toString());
        assertThat(received()).startsWith("HTTP/1.1 404 ");
        send(head.toString().replace("\r\n\r\n", "\r\nX-One-Too-Many: v\r\n\r\n"));
        assertThat(received()).startsWith("HTTP/1.1 431 ");
    }

    @Test
    void aReplyBeforeTheBodyWasReadClosesTheConnection() {
        // The rest of the body would be read as the next request: the connection must end.
        send("POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf");
        assertThat(received()).startsWith("HTTP/1.1 404 ").contains("connection: close");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void aDrainClosesAnIdleConnectionAndTellsAnActiveOneWithItsNextResponse() {
        send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(received()).doesNotContain("connection: close");
        gateway.drainOnNextResponse();
        send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(received()).startsWith("HTTP/1.1 404 ").contains("connection: close");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void anIdleConnectionClosesOnTheDrainEventWhileOneMidRequestDoesNot() {
        send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        received();
        client.pipeline().fireUserEventTriggered(Gateway.DrainEvent.INSTANCE);
        client.runPendingTasks();
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void aRequestWithoutAnIdGetsOneFromTheGatewaysSourceAndItsReplyNamesIt() {
        send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: a\r\nx-request-id: mine\r\n\r\n");
        String out = received();
        assertThat(out).contains("request-id: id-1\n", "request-id: mine\n");
    }

    @Test
    void aHeadRequestIsAnsweredWithoutABody() {
        send("HEAD /nowhere HTTP/1.1\r\nHost: a\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
        String out = received();
        assertThat(count(out, "HTTP/1.1 404")).isEqualTo(2);
        // The GET's body ("no_route: ...") appears once: the HEAD answer carried none.
        assertThat(count(out, "no_route: ")).isEqualTo(1);
    }
}
