package dev.sluice.config;

import java.net.InetSocketAddress;

/** A {@code host:port} as written in the file; IPv6 literals are written {@code [::1]:8080}. */
public record HostPort(String host, int port) {

    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /** Whether the host is an IP address as written (IPv4, or IPv6 without its brackets), not a name to resolve. */
    public boolean isIpLiteral() {
        return IpLiterals.v4(host).isPresent() || IpLiterals.v6(host).isPresent();
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
