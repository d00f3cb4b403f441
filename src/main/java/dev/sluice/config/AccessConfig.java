package dev.sluice.config;

import java.util.List;
import java.util.Optional;

/**
 * Who may use a route: checked after the route is chosen and before admission, in this order:
 * the client's address ({@code allow_ips}, {@code deny_ips}), a CORS preflight ({@code cors},
 * answered by Sluice), then the client's credentials ({@code basic_auth}).
 *
 * @param allowIps CIDR blocks; when any are given, a client outside all of them is refused
 * @param denyIps CIDR blocks whose clients are refused, whatever {@code allowIps} says
 * @param basicAuth HTTP basic authentication against a users file; none by default
 * @param cors the route's CORS policy; none by default (no CORS fields added, preflights forwarded)
 */
public record AccessConfig(List<String> allowIps, List<String> denyIps, Optional<BasicAuthConfig> basicAuth,
                           Optional<CorsConfig> cors) {

    public AccessConfig {
        allowIps = List.copyOf(allowIps);
        denyIps = List.copyOf(denyIps);
    }

    /** Everyone may use the route: no address rules, no credentials, no CORS. */
    public static final AccessConfig OPEN = new AccessConfig(List.of(), List.of(), Optional.empty(), Optional.empty());

    public boolean isOpen() {
        return allowIps.isEmpty() && denyIps.isEmpty() && basicAuth.isEmpty() && cors.isEmpty();
    }
}
