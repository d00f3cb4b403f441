package dev.sluice.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One {@code GET ready.path} to a starting app, on the app's own thread: ready when it answers with
 * any status below 500 (a 404 still means a server that listens and serves). A refused connect,
 * a timeout or a 5xx means not yet.
 */
final class ReadinessCheck {
    /** 1 s: a starting app on the same host connects in microseconds; a check that hangs is "not yet". */
    private static final int TIMEOUT_MILLIS = 1000;

    private ReadinessCheck() {}

    static boolean passes(String host, int port, String path) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), TIMEOUT_MILLIS);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nUser-Agent: sluice-readiness\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] head = new byte[12];
            int read = 0;
            while (read < head.length) {
                int n = in.read(head, read, head.length - read);
                if (n < 0) {
                    return false;
                }
                read += n;
            }
            String statusLine = new String(head, StandardCharsets.US_ASCII);
            if (!statusLine.startsWith("HTTP/1.")) {
                return false;
            }
            int status = Integer.parseInt(statusLine.substring(9, 12));
            return status >= 100 && status < 500;
        } catch (IOException | RuntimeException notYet) {
            return false;
        }
    }
}
