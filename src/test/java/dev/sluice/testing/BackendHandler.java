package dev.sluice.testing;

/**
 * What a {@link TestBackend} does with each request. Ready-made behaviours are in {@link BackendHandlers};
 * write one for anything else.
 *
 * <pre>{@code
 * TestBackend backend = TestBackend.start(ex -> ex.respond(200, "hello " + ex.path()));
 * }</pre>
 *
 * <p>Both methods run on the connection's event loop: never block in them. To answer later, use
 * {@link BackendExchange#schedule}. Every request must eventually get one final response or a close;
 * until it does, the connection reads no further request (pipelined requests wait, in order).
 */
@FunctionalInterface
public interface BackendHandler {
    /**
     * Called once the whole request has arrived; its body is recorded and hashed in
     * {@link BackendExchange#request()}. Answer now or later through the exchange.
     */
    void onRequest(BackendExchange exchange);

    /**
     * Called when the request head has arrived, before the body is read. Use it for interim responses
     * ({@code 100 Continue}, {@code 103 Early Hints}) or to answer without waiting for the body.
     * Does nothing by default.
     */
    default void onHead(BackendExchange exchange) {}
}
