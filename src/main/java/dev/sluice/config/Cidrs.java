package dev.sluice.config;

import java.util.Arrays;
import java.util.Optional;

/**
 * Parses an address block such as {@code 10.0.0.0/8} or {@code ::1/128}. A bare address means
 * just that address, and is returned with its full prefix ({@code /32}, {@code /128}).
 */
final class Cidrs {
    private Cidrs() {}

    static Parsed<String> parse(String text) {
        int slash = text.indexOf('/');
        String ip = slash < 0 ? text : text.substring(0, slash);
        boolean v6 = ip.indexOf(':') >= 0;
        Optional<byte[]> address = v6 ? IpLiterals.v6(ip) : IpLiterals.v4(ip);
        if (address.isEmpty()) {
            return invalid(text, "'" + ip + "' is not an IP address");
        }
        int bits = address.get().length * 8;
        if (slash < 0) {
            return Parsed.ok(text + "/" + bits);
        }
        String prefix = text.substring(slash + 1);
        if (prefix.isEmpty() || prefix.length() > 3 || !prefix.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(prefix) > bits) {
            return invalid(text, "prefix length must be a number from 0 to " + bits);
        }
        byte[] network = masked(address.get(), Integer.parseInt(prefix));
        // 10.0.0.1/8 is almost always a typo for a single host (/32) or for the network (10.0.0.0/8);
        // guessing either silently trusts the wrong set of clients.
        if (!Arrays.equals(network, address.get())) {
            return invalid(text, "host bits are set (did you mean '" + IpLiterals.format(network) + "/" + prefix + "'?)");
        }
        return Parsed.ok(text);
    }

    private static byte[] masked(byte[] address, int prefix) {
        byte[] network = address.clone();
        for (int i = 0; i < network.length; i++) {
            int bitsInByte = Math.max(0, Math.min(8, prefix - 8 * i));
            network[i] &= (byte) (0xff << (8 - bitsInByte));
        }
        return network;
    }

    private static Parsed<String> invalid(String text, String reason) {
        return Parsed.invalid("invalid CIDR '" + text + "': " + reason);
    }
}
