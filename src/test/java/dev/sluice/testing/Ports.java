package dev.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;

/** What tests that start other processes need: a port to give them, and what they printed. */
public final class Ports {
    private Ports() {}

    /** A loopback port free now (bound and released), for a process that must be told its port. */
    public static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** All a child printed on {@code in}, as far as it got: the stream may close under a read when the child exits. */
    public static String printed(InputStream in) {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                got.write(buffer, 0, n);
            }
        } catch (IOException closedAtExit) {
            // What was read before it closed is kept.
        }
        return got.toString(StandardCharsets.UTF_8);
    }
}
