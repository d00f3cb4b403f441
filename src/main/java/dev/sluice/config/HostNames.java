package dev.sluice.config;

import java.util.Optional;
import java.util.regex.Pattern;

/** Checks a host name or IPv4 literal as written in an address or a route's host match. */
final class HostNames {
    /**
     * RFC 1123 labels, plus '_' because container runtimes resolve service names such as
     * {@code my_app} and refusing them would only push people to work around the check.
     */
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");

    private HostNames() {}

    /** Why {@code host} is not a valid host name or IPv4 literal; empty when it is one. */
    static Optional<String> problem(String host) {
        if (host.isEmpty()) {
            return Optional.of("host is empty");
        }
        if (DIGITS_AND_DOTS.matcher(host).matches()) {
            return IpLiterals.v4(host).isPresent()
                    ? Optional.empty()
                    : Optional.of("'" + host + "' is not a valid IPv4 address");
        }
        if (host.length() > 253) {
            return Optional.of("host name is longer than 253 characters");
        }
        for (String label : host.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return Optional.of("'" + host + "' is not a valid host name");
            }
        }
        return Optional.empty();
    }
}
