package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RawHttpClientTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void readsPipelinedResponsesFramedByLengthChunksAndClose() throws Exception {
        String wire = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nde\r\n1\r\nf\r\n0\r\nX-T: 1\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
                + "HTTP/1.1 304 Not Modified\r\n\r\n"
                + "HTTP/1.0 200 OK\r\n\r\nuntil close";
        try (TcpTestServer server = TcpTestServer.start();
             RawHttpClient client = RawHttpClient.connect(server.port())) {
            Socket s = server.accept(WAIT);
            s.getOutputStream().write(wire.getBytes(StandardCharsets.ISO_8859_1));
            s.close();

            RawResponse a = client.readResponse(WAIT);
            RawResponse b = client.readResponse(WAIT);
            RawResponse c = client.readResponse(WAIT);
            RawResponse d = client.readResponse(WAIT);
            RawResponse e = client.readResponse(WAIT);

            assertThat(a.bodyString()).isEqualTo("abc");
            assertThat(a.framing()).isEqualTo(RawResponse.Framing.CONTENT_LENGTH);
            assertThat(a.rawString()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
            assertThat(b.bodyString()).isEqualTo("def");
            assertThat(b.trailer("x-t")).isEqualTo("1");
            assertThat(c.status()).isEqualTo(204);
            assertThat(c.framing()).isEqualTo(RawResponse.Framing.NO_BODY);
            assertThat(d.status()).isEqualTo(304);
            assertThat(e.framing()).isEqualTo(RawResponse.Framing.CLOSE_DELIMITED);
            assertThat(e.bodyString()).isEqualTo("until close");
            assertThat(e.connectionClose()).isTrue();
            assertThat(client.closeKind()).isEqualTo(RawHttpClient.CloseKind.FIN);
        }
    }

    @Test
    void responseToHeadHasNoBodyDespiteContentLength() throws Exception {
        try (TcpTestServer server = TcpTestServer.start();
             RawHttpClient client = RawHttpClient.connect(server.port())) {
            Socket s = server.accept(WAIT);
            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));

            assertThat(client.readResponse(WAIT, "HEAD").body()).isEmpty();
            assertThat(client.readResponse(WAIT).status()).isEqualTo(201);
        }
    }

    @Test
    void sendsExactBytes() throws Exception {
        try (TcpTestServer server = TcpTestServer.start();
             RawHttpClient client = RawHttpClient.connect(server.port())) {
            Socket s = server.accept(WAIT);
            client.send("A\u00ff\r\n").send(new byte[] {0, 1}).sendLines("x", "");

            assertThat(TcpTestServer.readExactly(s, 11, WAIT)).containsExactly('A', 0xff, '\r', '\n', 0, 1, 'x', '\r', '\n', '\r', '\n');
        }
    }

    @Test
    void distinguishesFinFromResetAndReportsTheIncompleteResponse() throws Exception {
        try (TcpTestServer server = TcpTestServer.start();
             RawHttpClient fin = RawHttpClient.connect(server.port());
             RawHttpClient rst = RawHttpClient.connect(server.port())) {
            Socket a = server.accept(WAIT);
            Socket b = server.accept(WAIT);
            OutputStream out = a.getOutputStream();
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".getBytes(StandardCharsets.US_ASCII));
            a.close();
            b.setSoLinger(true, 0);
            b.close();

            assertThatThrownBy(() -> fin.readResponse(WAIT))
                    .isInstanceOfSatisfying(RawHttpClient.PeerClosedException.class, e -> {
                        assertThat(e.kind()).isEqualTo(RawHttpClient.CloseKind.FIN);
                        assertThat(new String(e.partial(), StandardCharsets.US_ASCII)).endsWith("\r\n\r\nabc");
                    });
            assertThat(rst.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
        }
    }

    @Test
    void deadlineWithoutACompleteResponseFailsWithWhatArrived() throws Exception {
        try (TcpTestServer server = TcpTestServer.start();
             RawHttpClient client = RawHttpClient.connect(server.port())) {
            Socket s = server.accept(WAIT);
            s.getOutputStream().write("HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII));

            assertThatThrownBy(() -> client.readResponse(Duration.ofMillis(200)))
                    .isInstanceOf(RawHttpClient.ResponseTimeoutException.class)
                    .hasMessageContaining("HTTP/1.1 200 OK");
            assertThat(client.readRaw(Duration.ofMillis(50))).asString().isEqualTo("HTTP/1.1 200 OK\r\n");
            assertThatThrownBy(() -> client.awaitClosed(Duration.ofMillis(50))).hasMessageContaining("still open");
        }
    }
}
