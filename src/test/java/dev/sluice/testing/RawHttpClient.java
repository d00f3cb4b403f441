package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A blocking client on one TCP connection that sends exact bytes and reads responses exactly as they
 * arrive: for malformed-request corpora, pipelining, and checking how a connection ends.
 *
 * <pre>{@code
 * try (RawHttpClient c = RawHttpClient.connect(proxyPort)) {
 *     c.send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx");
 *     assertThat(c.readResponse(Duration.ofSeconds(5)).status()).isEqualTo(400);
 * }
 * }</pre>
 *
 * <p>Reads frame responses per RFC 9112 §6.3 (no body for 1xx, 204, 304 and HEAD; then chunked, then
 * Content-Length, else until close). Bytes past one response stay buffered for the next read, so pipelined
 * responses are read by calling {@link #readResponse} repeatedly. A deadline that passes throws
 * {@link ResponseTimeoutException} (an {@link AssertionError}); a connection that ends mid-response throws
 * {@link PeerClosedException} saying whether it was a FIN or a reset. Bodies are held in memory: for big
 * downloads use {@code java.net.http} with {@link Sha256#bodyHandler()}. Not thread-safe.
 */
public final class RawHttpClient implements AutoCloseable {
    /** How the peer ended the connection. */
    public enum CloseKind { FIN, RESET }

    /** The connection ended (FIN or RST) before a complete response arrived. */
    public static final class PeerClosedException extends UncheckedIOException {
        private final CloseKind kind;
        private final byte[] partial;

        PeerClosedException(CloseKind kind, byte[] partial, String what) {
            super(new IOException("connection " + (kind == CloseKind.RESET ? "reset" : "closed") + " by peer " + what
                    + " after " + partial.length + " byte(s)" + preview(partial)));
            this.kind = kind;
            this.partial = partial;
        }

        public CloseKind kind() {
            return kind;
        }

        /** The bytes of the incomplete response that did arrive. */
        public byte[] partial() {
            return partial.clone();
        }
    }

    /** No complete response arrived before the deadline. */
    public static final class ResponseTimeoutException extends AssertionError {
        private final byte[] partial;

        ResponseTimeoutException(Duration timeout, byte[] partial) {
            super("no complete response within " + timeout + "; received " + partial.length + " byte(s)" + preview(partial));
            this.partial = partial;
        }

        public byte[] partial() {
            return partial.clone();
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private byte[] buf = new byte[16 * 1024];
    private int start; // first unconsumed byte
    private int end;   // one past the last received byte
    private CloseKind closeKind;

    private RawHttpClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects to a loopback port. */
    public static RawHttpClient connect(int port) {
        return connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }

    /** Connects within 5 s; a refused connect throws {@link UncheckedIOException} wrapping {@link java.net.ConnectException}. */
    public static RawHttpClient connect(InetSocketAddress address) {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(address, 5_000);
            return new RawHttpClient(socket);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new UncheckedIOException(e);
        }
    }

    /** Speaks over a socket already connected (a TLS one, its handshake done). */
    public static RawHttpClient over(Socket connected) {
        try {
            return new RawHttpClient(connected);
        } catch (IOException e) {
            closeQuietly(connected);
            throw new UncheckedIOException(e);
        }
    }

    /** Connects from {@code from} (another loopback address, 127.0.0.2 and up, stands for another client). */
    public static RawHttpClient connect(InetSocketAddress address, InetAddress from) {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.bind(new InetSocketAddress(from, 0));
            socket.connect(address, 5_000);
            return new RawHttpClient(socket);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new UncheckedIOException(e);
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** Sends the text's characters as single bytes (ISO-8859-1): {@code "\u00ff"} sends byte 0xFF. */
    public RawHttpClient send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Sends each line followed by CRLF; end with {@code ""} for the blank line that ends a head. */
    public RawHttpClient sendLines(String... lines) {
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append(line).append("\r\n");
        }
        return send(sb.toString());
    }

    public RawHttpClient send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the next response (a 1xx counts as one) to a request that was not HEAD. */
    public RawResponse readResponse(Duration timeout) {
        return readResponse(timeout, "GET");
    }

    /** Reads the next response; {@code requestMethod} matters for HEAD (no body) and CONNECT. */
    public RawResponse readResponse(Duration timeout, String requestMethod) {
        return new Parser(System.nanoTime() + timeout.toNanos(), timeout).response(requestMethod);
    }

    /** Reads past any 1xx responses to the final one; the 1xx are in {@link RawResponse#interim()}. */
    public RawResponse readFinalResponse(Duration timeout) {
        return readFinalResponse(timeout, "GET");
    }

    public RawResponse readFinalResponse(Duration timeout, String requestMethod) {
        Parser parser = new Parser(System.nanoTime() + timeout.toNanos(), timeout);
        List<RawResponse> interim = new ArrayList<>();
        while (true) {
            RawResponse r = parser.response(requestMethod);
            if (r.status() >= 200 || r.status() == 101) {
                return interim.isEmpty() ? r : r.withInterim(interim);
            }
            interim.add(r);
        }
    }

    /**
     * Returns every byte that arrives until the peer closes or {@code timeout} passes, whichever is first
     * (possibly none). Buffered bytes not yet consumed by a read are included.
     */
    public byte[] readRaw(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (fill(deadline) > 0) {
            // keep reading until close or deadline
        }
        byte[] bytes = Arrays.copyOfRange(buf, start, end);
        start = end;
        return bytes;
    }

    public String readRawString(Duration timeout) {
        return new String(readRaw(timeout), StandardCharsets.ISO_8859_1);
    }

    /**
     * Waits for the peer to end the connection and says how; bytes arriving meanwhile stay buffered for later
     * reads. Fails if the connection is still open at the deadline.
     */
    public CloseKind awaitClosed(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (closeKind == null) {
            if (fill(deadline) == 0 && System.nanoTime() - deadline >= 0) {
                throw new AssertionError("connection still open after " + timeout);
            }
        }
        return closeKind;
    }

    /** How the peer ended the connection, as far as reads have seen; null while it looks open. */
    public CloseKind closeKind() {
        return closeKind;
    }

    /** Half-closes: sends FIN, keeps reading. */
    public void shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Closes with RST (SO_LINGER 0) instead of FIN. */
    public void reset() {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException ignored) {
            // already closed
        }
        closeQuietly(socket);
    }

    @Override
    public void close() {
        closeQuietly(socket);
    }

    /**
     * Reads more bytes. Returns how many; -1 once the peer closed (setting {@link #closeKind}); 0 if the
     * deadline passed first.
     */
    private int fill(long deadline) {
        if (closeKind != null) {
            return -1;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return 0;
        }
        if (end == buf.length) {
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            } else {
                buf = Arrays.copyOf(buf, buf.length * 2);
            }
        }
        try {
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, left / 1_000_000)));
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                closeKind = CloseKind.FIN;
                return -1;
            }
            end += n;
            return n;
        } catch (SocketTimeoutException e) {
            return 0;
        } catch (SocketException e) {
            String message = String.valueOf(e.getMessage()).toLowerCase();
            if (message.contains("reset") || message.contains("broken pipe")) {
                closeKind = CloseKind.RESET;
                return -1;
            }
            throw new UncheckedIOException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String preview(byte[] bytes) {
        if (bytes.length == 0) {
            return "";
        }
        String s = new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.ISO_8859_1);
        return ": " + s.replace("\r", "\\r").replace("\n", "\\n") + (bytes.length > 200 ? "..." : "");
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /** Parses one message at a time from the buffer; positions are relative to {@code start}. */
    private final class Parser {
        private final long deadline;
        private final Duration timeout;
        private int p;

        Parser(long deadline, Duration timeout) {
            this.deadline = deadline;
            this.timeout = timeout;
        }

        RawResponse response(String requestMethod) {
            p = 0;
            String statusLine = line();
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new AssertionError("not an HTTP status line: " + statusLine);
            }
            int status;
            try {
                status = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new AssertionError("not an HTTP status line: " + statusLine, e);
            }
            String reason = parts.length > 2 ? parts[2] : "";
            List<Map.Entry<String, String>> headers = fields();
            List<Map.Entry<String, String>> trailers = List.of();
            byte[] body;
            RawResponse.Framing framing;
            String transferEncoding = RecordedRequest.first(headers, "transfer-encoding");
            String contentLength = RecordedRequest.first(headers, "content-length");
            // Methods are case-sensitive (RFC 9110 §9.1): "COnNECT" is no CONNECT and its 200 has a
            // body (found by ProxyDifferentialFuzzTest, seed connect-in-mixed-case-is-another-method).
            boolean connectOk = requestMethod.equals("CONNECT") && status / 100 == 2;
            if (status / 100 == 1 || status == 204 || status == 304 || requestMethod.equals("HEAD") || connectOk) {
                framing = RawResponse.Framing.NO_BODY;
                body = new byte[0];
            } else if (transferEncoding != null && lastCodingIsChunked(RecordedRequest.all(headers, "transfer-encoding"))) {
                framing = RawResponse.Framing.CHUNKED;
                java.io.ByteArrayOutputStream chunks = new java.io.ByteArrayOutputStream();
                while (true) {
                    String sizeLine = line();
                    int semicolon = sizeLine.indexOf(';');
                    String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim();
                    long size;
                    try {
                        size = Long.parseLong(hex, 16);
                    } catch (NumberFormatException e) {
                        throw new AssertionError("bad chunk size line: " + sizeLine, e);
                    }
                    if (size == 0) {
                        break;
                    }
                    require(p + (int) size + 2);
                    chunks.write(buf, start + p, (int) size);
                    p += (int) size;
                    line(); // the CRLF after the chunk data
                }
                trailers = fields();
                body = chunks.toByteArray();
            } else if (transferEncoding == null && contentLength != null) {
                framing = RawResponse.Framing.CONTENT_LENGTH;
                int length;
                try {
                    length = Integer.parseInt(contentLength.trim());
                } catch (NumberFormatException e) {
                    throw new AssertionError("bad Content-Length: " + contentLength, e);
                }
                require(p + length);
                body = Arrays.copyOfRange(buf, start + p, start + p + length);
                p += length;
            } else {
                framing = RawResponse.Framing.CLOSE_DELIMITED;
                int bodyStart = p;
                while (true) {
                    int n = fill(deadline);
                    if (n < 0) {
                        if (closeKind == CloseKind.RESET) {
                            throw new PeerClosedException(CloseKind.RESET, consumedSoFar(end - start), "during a close-delimited body");
                        }
                        break;
                    }
                    if (n == 0) {
                        throw new ResponseTimeoutException(timeout, consumedSoFar(end - start));
                    }
                }
                p = end - start;
                body = Arrays.copyOfRange(buf, start + bodyStart, end);
            }
            byte[] raw = Arrays.copyOfRange(buf, start, start + p);
            start += p;
            return new RawResponse(parts[0], status, reason, headers, body, trailers, framing, raw, List.of());
        }

        private List<Map.Entry<String, String>> fields() {
            List<Map.Entry<String, String>> fields = new ArrayList<>();
            while (true) {
                String line = line();
                if (line.isEmpty()) {
                    return fields;
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new AssertionError("malformed header line: " + line);
                }
                fields.add(Map.entry(line.substring(0, colon), line.substring(colon + 1).strip()));
            }
        }

        /** Reads up to LF; returns the line without CRLF (a bare LF is accepted). */
        private String line() {
            int scanned = p;
            while (true) {
                for (int i = scanned; start + i < end; i++) {
                    if (buf[start + i] == '\n') {
                        int lineEnd = i > p && buf[start + i - 1] == '\r' ? i - 1 : i;
                        String line = new String(buf, start + p, lineEnd - p, StandardCharsets.ISO_8859_1);
                        p = i + 1;
                        return line;
                    }
                }
                scanned = end - start;
                more();
            }
        }

        private void require(int relativeEnd) {
            while (end - start < relativeEnd) {
                more();
            }
        }

        private void more() {
            int n = fill(deadline);
            if (n < 0) {
                throw new PeerClosedException(closeKind, consumedSoFar(end - start), p == 0 && end == start ? "before a response" : "mid-response");
            }
            if (n == 0) {
                throw new ResponseTimeoutException(timeout, consumedSoFar(end - start));
            }
        }

        private byte[] consumedSoFar(int relativeEnd) {
            return Arrays.copyOfRange(buf, start, start + relativeEnd);
        }

        private boolean lastCodingIsChunked(List<String> values) {
            String last = values.get(values.size() - 1);
            String[] codings = last.split(",");
            return codings[codings.length - 1].trim().equalsIgnoreCase("chunked");
        }
    }
}
