package dev.sluice;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * A small origin server for {@code bin/sluice demo}: answers every request with a text echo of
 * what it received (so the headers Sluice adds are visible), and counts bytes of any body.
 */
final class DemoBackend implements AutoCloseable {
    private final HttpServer server;

    private DemoBackend(HttpServer server) {
        this.server = server;
    }

    static DemoBackend start(String name, InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 128);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> answer(name, exchange));
        server.start();
        return new DemoBackend(server);
    }

    private static void answer(String name, HttpExchange exchange) throws IOException {
        long bodyBytes = 0;
        try (InputStream in = exchange.getRequestBody()) {
            byte[] buffer = new byte[16 * 1024];
            int n;
            while ((n = in.read(buffer)) > 0) {
                bodyBytes += n;
            }
        }
        StringBuilder text = new StringBuilder()
                .append("hello from ").append(name).append('\n')
                .append(exchange.getRequestMethod()).append(' ').append(exchange.getRequestURI()).append('\n');
        exchange.getRequestHeaders().forEach((k, values) -> values.forEach(
                v -> text.append(k.toLowerCase()).append(": ").append(v).append('\n')));
        text.append("body-bytes: ").append(bodyBytes).append('\n');
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.getResponseHeaders().set("X-Demo-Backend", name);
        exchange.sendResponseHeaders(200, "HEAD".equals(exchange.getRequestMethod()) ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            if (!"HEAD".equals(exchange.getRequestMethod())) {
                out.write(bytes);
            }
        }
    }

    /** Where it listens (the port chosen when it was started on port 0). */
    InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
