package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Header field values pass through the proxy byte for byte, both ways, including obs-text
 * (bytes 0x80-0xFF, RFC 9110 §5.5): Sluice writes header fields with its own encoder
 * ({@code HeaderBytes}), which must keep what Netty's decoder read.
 */
class FieldBytesTest {
    private static final Duration T = Duration.ofSeconds(10);

    @Test
    void obsTextInHeaderValuesReachesTheEndpointAndTheClientUnchanged() throws Exception {
        try (ServerSocket backend = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            // A backend of raw bytes: records the request head it was sent, answers with one of its own.
            CompletableFuture<String> seenHead = CompletableFuture.supplyAsync(() -> {
                try (Socket s = backend.accept()) {
                    String head = readHead(s.getInputStream());
                    s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Label: caf\u00e9 cr\u00e8me\r\n"
                            + "Connection: close\r\n\r\nok").getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                    return head;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            InetSocketAddress address = (InetSocketAddress) backend.getLocalSocketAddress();
            try (TestGateway gw = TestGateway.proxyTo(address);
                 RawHttpClient c = RawHttpClient.connect(gw.address())) {
                RawResponse r = c.send("GET / HTTP/1.1\r\nHost: test\r\nX-Name: Jos\u00e9 \u00c5ngstr\u00f6m\r\n\r\n")
                        .readResponse(T);

                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("x-label")).isEqualTo("caf\u00e9 cr\u00e8me");
                assertThat(seenHead.get(T.toSeconds(), TimeUnit.SECONDS)).contains("X-Name: Jos\u00e9 \u00c5ngstr\u00f6m\r\n");
            }
        }
    }

    private static String readHead(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                break;
            }
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }
}
