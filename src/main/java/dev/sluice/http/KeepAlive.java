package dev.sluice.http;

/**
 * A parsed {@code Keep-Alive: timeout=N, max=M} response header (RFC 2068 §19.7.1, still sent by
 * Apache, Node.js and most HTTP/1.1 servers). Fields are -1 when absent or malformed.
 */
public record KeepAlive(long timeoutSeconds, int max) {
    public static final KeepAlive NONE = new KeepAlive(-1, -1);

    public static KeepAlive parse(CharSequence header) {
        if (header == null) {
            return NONE;
        }
        long timeout = -1;
        int max = -1;
        String value = header.toString();
        for (String part : value.split(",")) {
            int eq = part.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String name = part.substring(0, eq).trim();
            String number = part.substring(eq + 1).trim();
            try {
                if (name.equalsIgnoreCase("timeout")) {
                    timeout = Math.max(0, Long.parseLong(number));
                } else if (name.equalsIgnoreCase("max")) {
                    max = Math.max(0, Integer.parseInt(number));
                }
            } catch (NumberFormatException ignored) {
                // A malformed parameter teaches nothing; the configured timeout stays in force.
            }
        }
        return timeout < 0 && max < 0 ? NONE : new KeepAlive(timeout, max);
    }
}
