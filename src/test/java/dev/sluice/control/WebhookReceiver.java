package dev.sluice.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.incident.AlertSignature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The receiving end of {@code alerts.webhook}: records each POST, and whether its signature holds for {@code secret}. */
final class WebhookReceiver implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Alert(String event, boolean signed, JsonNode body, String delivery) {}

    private final HttpServer server;
    private final List<Alert> alerts = new CopyOnWriteArrayList<>();

    WebhookReceiver(String secret) {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/hook", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            var headers = exchange.getRequestHeaders();
            boolean signed = AlertSignature.verify(secret, headers.getFirst(AlertSignature.TIMESTAMP_HEADER), body,
                    headers.getFirst(AlertSignature.SIGNATURE_HEADER));
            alerts.add(new Alert(headers.getFirst("X-Sluice-Event"), signed, JSON.readTree(body),
                    headers.getFirst("X-Sluice-Delivery")));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    List<Alert> alerts() {
        return List.copyOf(alerts);
    }

    List<Alert> alerts(String event) {
        return alerts.stream().filter(a -> event.equals(a.event())).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
