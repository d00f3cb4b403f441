package dev.sluice.config;

import java.util.Optional;

/** Parses {@code host:port} and {@code [v6]:port} into a {@link HostPort}. */
final class Addresses {
    private static final String EXAMPLE = "e.g. 127.0.0.1:8080";

    private Addresses() {}

    /**
     * @param minPort 0 where an ephemeral port makes sense (listeners and admin, which tests bind
     *     to port 0), 1 where something must already be listening (endpoints)
     */
    static Parsed<HostPort> parse(String text, int minPort) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                return invalid(text, "missing ']' after the IPv6 address");
            }
            host = text.substring(1, close);
            if (!text.startsWith(":", close + 1)) {
                return invalid(text, "missing ':port' after ']', e.g. [::1]:8080");
            }
            port = text.substring(close + 2);
            Optional<String> problem = ipv6Problem(host);
            if (problem.isPresent()) {
                return invalid(text, problem.get());
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                // A bare number is a port whose host was left out (nginx's `listen 8088`), not a host.
                return parsePort(text, text, minPort).isPresent()
                        ? invalid(text, "missing host: write 127.0.0.1:" + text + " (this machine only) or 0.0.0.0:"
                                + text + " (every interface)")
                        : invalid(text, "missing port; expected host:port, " + EXAMPLE);
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                return invalid(text, "IPv6 addresses need brackets, e.g. [::1]:8080");
            }
            if (host.isEmpty()) {
                return invalid(text, "host is empty (to listen on every interface, write 0.0.0.0" + text + ")");
            }
            Optional<String> problem = HostNames.problem(host);
            if (problem.isPresent()) {
                return invalid(text, problem.get());
            }
        }
        return parsePort(text, port, minPort).map(p -> Parsed.ok(new HostPort(host, p)))
                .orElseGet(() -> invalid(text, "port must be a number from " + minPort + " to 65535"));
    }

    private static Optional<Integer> parsePort(String text, String port, int minPort) {
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Optional.empty();
        }
        int value = Integer.parseInt(port);
        return value >= minPort && value <= 65535 ? Optional.of(value) : Optional.empty();
    }

    /** A zone ({@code fe80::1%eth0}) is allowed: link-local addresses mean nothing without one. */
    private static Optional<String> ipv6Problem(String host) {
        int percent = host.indexOf('%');
        String address = percent < 0 ? host : host.substring(0, percent);
        if (percent >= 0 && percent == host.length() - 1) {
            return Optional.of("empty zone after '%'");
        }
        return IpLiterals.v6(address).isPresent()
                ? Optional.empty()
                : Optional.of("'" + host + "' is not a valid IPv6 address");
    }

    private static Parsed<HostPort> invalid(String text, String reason) {
        return Parsed.invalid("invalid address '" + text + "': " + reason);
    }
}
