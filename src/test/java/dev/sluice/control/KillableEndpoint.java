package dev.sluice.control;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;

/**
 * A backend on a fixed loopback port that can be killed (nothing listens there any more: connects
 * are refused) and brought back on the same port, as a crashed and restarted application is.
 */
final class KillableEndpoint implements AutoCloseable {
    private final int port;
    private final LongAdder requests = new LongAdder();
    private HttpServer server;

    KillableEndpoint(int port) {
        this.port = port;
        revive();
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    long requests() {
        return requests.sum();
    }

    synchronized void kill() {
        server.stop(0);
        server = null;
    }

    synchronized void revive() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 128);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            requests.increment();
            exchange.getRequestBody().readAllBytes();
            byte[] body = "ok".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            kill();
        }
    }
}
