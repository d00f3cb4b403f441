package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A downstream listener ({@code listeners[]}).
 *
 * @param name defaults to the address text
 * @param idleTimeout how long a keep-alive client connection may sit with no request
 * @param headerTimeout how long a client may take to send a whole request head (slowloris guard)
 * @param maxRequestLine longest request line accepted, in bytes (414 beyond)
 * @param maxHeaderSize largest request head accepted, in bytes (431 beyond)
 * @param maxHeaders most header fields accepted (431 beyond)
 * @param trustedProxies CIDR blocks whose {@code X-Forwarded-*} headers are believed and appended
 *     to; from anyone else they are replaced
 * @param bodyTimeout longest silence allowed in the middle of a request body (408 beyond)
 * @param maxConnections most client connections open at once; a connection past it is closed as
 *     soon as it is accepted. Empty: {@code auto}, a share of the process's open-files limit,
 *     worked out by the gateway (it knows the limit and how many listeners share it)
 * @param idleTimeoutUnderPressure the idle timeout once the listener is nearly full; between 80%
 *     and 95% of {@code maxConnections} it falls from {@code idleTimeout} to this
 * @param maxBody the largest request body accepted, in bytes (413 beyond), for routes without
 *     their own {@code max_body}; none when empty
 * @param tls the listener's certificates when it speaks HTTPS; empty for cleartext HTTP
 * @param redirectHttps when present, every request is answered 308 to the same host and target
 *     over HTTPS on this port (no route is asked); empty: routes as usual
 * @param webSocketIdleTimeout how long a WebSocket tunnel may carry nothing either way before both
 *     its connections are closed
 * @param http2 whether HTTP/2 is offered (ALPN on TLS, prior knowledge on cleartext) and its limits
 */
public record ListenerConfig(
        String name,
        HostPort address,
        Duration idleTimeout,
        Duration headerTimeout,
        int maxRequestLine,
        int maxHeaderSize,
        int maxHeaders,
        List<String> trustedProxies,
        Duration bodyTimeout,
        OptionalInt maxConnections,
        Duration idleTimeoutUnderPressure,
        OptionalLong maxBody,
        Optional<TlsConfig> tls,
        OptionalInt redirectHttps,
        Duration webSocketIdleTimeout,
        Http2Config http2) {

    /** 620 s: above the 600 s that Google Cloud's load balancers keep idle connections, so the
     * balancer in front always closes first and never sends a request onto a socket we are closing. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(620);
    /** 10 s: a real client sends its head in one packet; a slow one ties up a connection. */
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** 8 KiB: nginx's large_client_header_buffers line size; long enough for real URLs. */
    public static final int DEFAULT_MAX_REQUEST_LINE = 8 * 1024;
    /** 64 KiB: room for large cookies and tokens (Envoy allows 60 KiB), small enough to bound memory. */
    public static final int DEFAULT_MAX_HEADER_SIZE = 64 * 1024;
    /** 100: Envoy's default; real requests carry a few dozen. */
    public static final int DEFAULT_MAX_HEADERS = 100;

    /** 60 s: a client silent that long in the middle of a body is gone or stalled, and it holds an
     * upstream connection and a half-received request at the application meanwhile (nginx's
     * client_body_timeout). */
    public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(60);

    /** 5 s: Apache's KeepAliveTimeout, chosen for servers whose connections are a scarce resource
     * (each holds a worker there). A client loading a page sends its next request within a second
     * or two and keeps its connection; a listener nearly full recycles its idle ones within 5 s. */
    public static final Duration DEFAULT_IDLE_TIMEOUT_UNDER_PRESSURE = Duration.ofSeconds(5);

    public ListenerConfig {
        trustedProxies = List.copyOf(trustedProxies);
        if (maxConnections.isPresent() && maxConnections.getAsInt() < 1) {
            throw new IllegalArgumentException("max_connections must be at least 1: " + maxConnections.getAsInt());
        }
        if (http2.cleartext() && tls.isPresent()) {
            throw new IllegalArgumentException("h2c (HTTP/2 with prior knowledge) is for cleartext listeners");
        }
        if (idleTimeoutUnderPressure.compareTo(idleTimeout) > 0) {
            throw new IllegalArgumentException("idle_timeout_under_pressure " + idleTimeoutUnderPressure
                    + " is above idle_timeout " + idleTimeout);
        }
    }

    /**
     * 300 s: far above the ping interval of WebSocket libraries (socket.io 25 s, SignalR 15 s,
     * graphql-ws 12 s), so a live but quiet tunnel is never cut (nginx's 60 s
     * {@code proxy_read_timeout} is the usual cause of dropped sockets behind it), while a tunnel
     * whose peers both vanished without closing is freed within minutes.
     */
    public static final Duration DEFAULT_WEBSOCKET_IDLE_TIMEOUT = Duration.ofSeconds(300);

    /** With HTTP/2's defaults: offered by ALPN on a TLS listener, not on a cleartext one. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout, OptionalInt maxConnections, Duration idleTimeoutUnderPressure,
                          OptionalLong maxBody, Optional<TlsConfig> tls, OptionalInt redirectHttps,
                          Duration webSocketIdleTimeout) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, maxConnections, idleTimeoutUnderPressure, maxBody, tls, redirectHttps,
                webSocketIdleTimeout, Http2Config.DEFAULT);
    }

    /** With the default WebSocket idle timeout. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout, OptionalInt maxConnections, Duration idleTimeoutUnderPressure,
                          OptionalLong maxBody, Optional<TlsConfig> tls, OptionalInt redirectHttps) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, maxConnections, idleTimeoutUnderPressure, maxBody, tls, redirectHttps,
                DEFAULT_WEBSOCKET_IDLE_TIMEOUT);
    }

    /** 443: HTTPS's port, left out of the redirect's URL. */
    public static final int HTTPS_PORT = 443;

    /** Routed as usual. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout, OptionalInt maxConnections, Duration idleTimeoutUnderPressure,
                          OptionalLong maxBody, Optional<TlsConfig> tls) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, maxConnections, idleTimeoutUnderPressure, maxBody, tls, OptionalInt.empty());
    }

    /** Cleartext. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout, OptionalInt maxConnections, Duration idleTimeoutUnderPressure,
                          OptionalLong maxBody) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, maxConnections, idleTimeoutUnderPressure, maxBody, Optional.empty());
    }

    /**
     * True when {@code other} can be served by this listener's socket: everything the same but
     * perhaps its certificates, which a running listener swaps for the next handshake.
     */
    public boolean sameSocketAs(ListenerConfig other) {
        return withoutCertificates().equals(other.withoutCertificates());
    }

    private ListenerConfig withoutCertificates() {
        return tls.isEmpty() ? this : new ListenerConfig(name, address, idleTimeout, headerTimeout, maxRequestLine,
                maxHeaderSize, maxHeaders, trustedProxies, bodyTimeout, maxConnections, idleTimeoutUnderPressure,
                maxBody, tls.map(TlsConfig::settings), redirectHttps, webSocketIdleTimeout, http2);
    }

    /** With no body limit. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout, OptionalInt maxConnections, Duration idleTimeoutUnderPressure) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, maxConnections, idleTimeoutUnderPressure, OptionalLong.empty());
    }

    /** With {@code max_connections: auto} and the default idle timeout under pressure. */
    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies,
                          Duration bodyTimeout) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                bodyTimeout, OptionalInt.empty(), defaultIdleTimeoutUnderPressure(idleTimeout));
    }

    public ListenerConfig(String name, HostPort address, Duration idleTimeout, Duration headerTimeout,
                          int maxRequestLine, int maxHeaderSize, int maxHeaders, List<String> trustedProxies) {
        this(name, address, idleTimeout, headerTimeout, maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies,
                DEFAULT_BODY_TIMEOUT);
    }

    /** The default never lengthens a shorter idle timeout: pressure only ever shrinks it. */
    public static Duration defaultIdleTimeoutUnderPressure(Duration idleTimeout) {
        return idleTimeout.compareTo(DEFAULT_IDLE_TIMEOUT_UNDER_PRESSURE) < 0 ? idleTimeout
                : DEFAULT_IDLE_TIMEOUT_UNDER_PRESSURE;
    }

    public static ListenerConfig of(HostPort address) {
        return new ListenerConfig(address.toString(), address, DEFAULT_IDLE_TIMEOUT, DEFAULT_HEADER_TIMEOUT,
                DEFAULT_MAX_REQUEST_LINE, DEFAULT_MAX_HEADER_SIZE, DEFAULT_MAX_HEADERS, List.of());
    }
}
