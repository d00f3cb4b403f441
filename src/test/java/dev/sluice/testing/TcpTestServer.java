package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain blocking TCP server for the toolkit's own tests: accept a socket, then script it by hand
 * (write canned bytes, watch how the other side ends the connection).
 */
final class TcpTestServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> accepted = new ArrayList<>();

    private TcpTestServer() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    static TcpTestServer start() {
        try {
            return new TcpTestServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Accepts the next connection or fails after {@code timeout}. */
    Socket accept(Duration timeout) {
        try {
            server.setSoTimeout((int) timeout.toMillis());
            Socket s = server.accept();
            s.setTcpNoDelay(true);
            accepted.add(s);
            return s;
        } catch (IOException e) {
            throw new AssertionError("no connection within " + timeout, e);
        }
    }

    /** Reads exactly {@code n} bytes from {@code s}. */
    static byte[] readExactly(Socket s, int n, Duration timeout) throws IOException {
        s.setSoTimeout((int) timeout.toMillis());
        return s.getInputStream().readNBytes(n);
    }

    /** Reads until the peer ends the connection and says how, failing after {@code timeout}. */
    static RawHttpClient.CloseKind readUntilClosed(Socket s, Duration timeout) throws IOException {
        s.setSoTimeout((int) timeout.toMillis());
        InputStream in = s.getInputStream();
        byte[] sink = new byte[8192];
        try {
            while (in.read(sink) >= 0) {
                // discard
            }
            return RawHttpClient.CloseKind.FIN;
        } catch (SocketException e) {
            if (String.valueOf(e.getMessage()).toLowerCase().contains("reset")) {
                return RawHttpClient.CloseKind.RESET;
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        for (Socket s : accepted) {
            s.close();
        }
        server.close();
    }
}
