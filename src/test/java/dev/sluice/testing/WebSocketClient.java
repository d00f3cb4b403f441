package dev.sluice.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/** The JDK's WebSocket client, with what it received kept in order and its end as a future. */
public final class WebSocketClient implements AutoCloseable {
    private final WebSocket socket;
    private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    /** Completed when the connection ends: by a close frame, or by the connection closing under it. */
    private final CompletableFuture<String> ended = new CompletableFuture<>();

    private WebSocketClient(URI uri, SSLContext ssl) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        StringBuilder partial = new StringBuilder();
        this.socket = builder.build().newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    received.add(partial.toString());
                    partial.setLength(0);
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
                ended.complete("close " + statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                ended.complete("error " + error);
            }
        }).orTimeout(10, TimeUnit.SECONDS).join();
    }

    public static WebSocketClient connect(URI uri) {
        return new WebSocketClient(uri, null);
    }

    public static WebSocketClient connect(URI uri, SSLContext ssl) {
        return new WebSocketClient(uri, ssl);
    }

    /** Sends {@code text} and returns the next message received, within 10 s. */
    public String echo(String text) throws InterruptedException {
        socket.sendText(text, true).orTimeout(10, TimeUnit.SECONDS).join();
        String answer = received.poll(10, TimeUnit.SECONDS);
        if (answer == null) {
            throw new AssertionError("no answer to '" + text.substring(0, Math.min(40, text.length())) + "' in 10 s");
        }
        return answer;
    }

    /** How the connection ended, once it has (within {@code timeout}). */
    public String awaitEnd(Duration timeout) throws Exception {
        return ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        socket.abort();
    }
}
