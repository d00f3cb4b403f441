package dev.sluice.config;

/** The {@code Host} a route's requests carry to the endpoint ({@code routes[].host}). */
public sealed interface UpstreamHostConfig {
    /** The client's, as it came: the default, as nginx with {@code proxy_set_header Host $host}, Caddy and Envoy. */
    record Client() implements UpstreamHostConfig {}

    /** The endpoint's address ({@code host:port}), for backends that serve one name only. */
    record Endpoint() implements UpstreamHostConfig {}

    /** A fixed name, e.g. a virtual host of a shared backend. */
    record Fixed(String name) implements UpstreamHostConfig {}

    UpstreamHostConfig CLIENT = new Client();
    UpstreamHostConfig ENDPOINT = new Endpoint();
}
