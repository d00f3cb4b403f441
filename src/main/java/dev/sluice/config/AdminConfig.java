package dev.sluice.config;

import java.util.Optional;

/**
 * The admin listener ({@code admin:}): /live, /ready, /status, /metrics and the control endpoints
 * on their own port.
 *
 * @param token the bearer token every request but /live and /ready must present; required when
 *     {@code address} is not a loopback address, optional on loopback
 */
public record AdminConfig(HostPort address, Optional<AdminToken> token) {
    /** Loopback without a token: the default, reachable only from this host. */
    public AdminConfig(HostPort address) {
        this(address, Optional.empty());
    }

    /**
     * Whether only this host can reach {@code address}: {@code localhost}, 127.0.0.0/8 or
     * {@code ::1}. Any other name may resolve anywhere, and a wildcard ({@code 0.0.0.0}, {@code ::})
     * listens on every interface, so both count as reachable from elsewhere.
     */
    public static boolean isLoopback(HostPort address) {
        String host = address.host();
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        Optional<byte[]> v4 = IpLiterals.v4(host);
        if (v4.isPresent()) {
            return v4.get()[0] == 127;
        }
        return IpLiterals.v6(host).map(AdminConfig::isV6Loopback).orElse(false);
    }

    private static boolean isV6Loopback(byte[] bytes) {
        for (int i = 0; i < 15; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[15] == 1;
    }
}
