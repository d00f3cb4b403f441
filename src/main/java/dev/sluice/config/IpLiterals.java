package dev.sluice.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Strict parsing of IP address literals, without ever touching DNS: {@code InetAddress.getByName}
 * would quietly look up anything that is not a literal, such as a mistyped {@code 10.0.0.256}.
 */
final class IpLiterals {
    private IpLiterals() {}

    /**
     * A dotted quad of four decimal parts 0..255. Leading zeros are refused: {@code inet_aton}
     * reads {@code 010} as octal 8, so such an address means different things to different tools.
     */
    static Optional<byte[]> v4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return Optional.empty();
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(IpLiterals::isDigit)
                    || (part.length() > 1 && part.charAt(0) == '0')) {
                return Optional.empty();
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                return Optional.empty();
            }
            bytes[i] = (byte) value;
        }
        return Optional.of(bytes);
    }

    /** The text forms of RFC 4291 §2.2: eight hex groups, at most one "::", an optional trailing dotted quad. */
    static Optional<byte[]> v6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return Optional.empty();
        }
        String head = gap < 0 ? text : text.substring(0, gap);
        String tail = gap < 0 ? "" : text.substring(gap + 2);
        Optional<List<Integer>> headGroups = groups(head, gap < 0);
        Optional<List<Integer>> tailGroups = groups(tail, true);
        if (headGroups.isEmpty() || tailGroups.isEmpty()) {
            return Optional.empty();
        }
        int count = headGroups.get().size() + tailGroups.get().size();
        if (gap < 0 ? count != 8 : count > 7) {
            return Optional.empty();
        }
        byte[] bytes = new byte[16];
        List<Integer> all = new ArrayList<>(headGroups.get());
        for (int i = count; i < 8; i++) {
            all.add(0);
        }
        all.addAll(tailGroups.get());
        for (int i = 0; i < 8; i++) {
            bytes[2 * i] = (byte) (all.get(i) >> 8);
            bytes[2 * i + 1] = (byte) (int) all.get(i);
        }
        return Optional.of(bytes);
    }

    /** RFC 5952 text: lower-case hex, leading zeros dropped, the longest run of 2+ zero groups as "::". */
    static String format(byte[] bytes) {
        if (bytes.length == 4) {
            return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + "." + (bytes[3] & 0xff);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; i++) {
            int length = 0;
            while (i + length < 8 && groups[i + length] == 0) {
                length++;
            }
            if (length > bestLength) {
                bestStart = i;
                bestLength = length;
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!out.isEmpty() && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }

    /** The 16-bit groups of one side of a "::"; a dotted quad may end it and counts as two groups. */
    private static Optional<List<Integer>> groups(String part, boolean mayEndWithV4) {
        List<Integer> groups = new ArrayList<>();
        if (part.isEmpty()) {
            return Optional.of(groups);
        }
        String[] pieces = part.split(":", -1);
        for (int i = 0; i < pieces.length; i++) {
            String piece = pieces[i];
            if (i == pieces.length - 1 && mayEndWithV4 && piece.contains(".")) {
                Optional<byte[]> v4 = v4(piece);
                if (v4.isEmpty()) {
                    return Optional.empty();
                }
                byte[] b = v4.get();
                groups.add(((b[0] & 0xff) << 8) | (b[1] & 0xff));
                groups.add(((b[2] & 0xff) << 8) | (b[3] & 0xff));
            } else if (piece.isEmpty() || piece.length() > 4 || !piece.chars().allMatch(IpLiterals::isHex)) {
                return Optional.empty();
            } else {
                groups.add(Integer.parseInt(piece, 16));
            }
        }
        return Optional.of(groups);
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isHex(int c) {
        return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}
