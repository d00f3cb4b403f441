package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.sluice.testing.Await;
import dev.sluice.testing.FaultRelay;
import dev.sluice.testing.H2Backend;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 flow control is Sluice's backpressure, per stream and both ways (issue 17), on real
 * sockets: a client that stops reading one stream stops that stream's backend (its writes block
 * with a bounded number of bytes sent) and no other stream on the connection; a backend that
 * stops reading an upload stops that stream's client (its window is not given back) and no other
 * stream; each goes on where it stopped once the reader reads again. Without backpressure Sluice
 * would read the whole gibibyte answer, or take the whole 96 MiB upload, into memory; the bound
 * asserted ({@link #BOUND}) is what the sockets' kernel buffers and Sluice's own hold, far below.
 */
class Http2BackpressureTest {
    /** 32 MiB: loopback's kernel buffers (up to 4 MiB sent, a few MiB received here) and Sluice's, with room. */
    private static final long BOUND = 32L << 20;
    private static final int FRAME = 16_384;

    private BlockingBackend backend;
    private TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        backend = new BlockingBackend();
        gateway = TestGateway.fromYaml(H2cTarget.yaml("", backend.authority(), "concurrency: { limit: off }"));
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        backend.close();
    }

    @Test
    void aClientThatStopsReadingAStreamStopsItsBackendAndNoOtherStream() throws Exception {
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            // A connection window big enough for everything: only the stream's own window holds it back.
            client.windowUpdate(0, Integer.MAX_VALUE - 65_535);
            client.headers(1, request("GET", "/huge"), true);
            long received = readData(client, 1, 65_535);
            long stalled = backend.awaitStalledWriting();
            assertThat(stalled).as("bytes the backend sent while the client read %d", received).isLessThan(BOUND);

            client.headers(3, request("GET", "/small"), true);
            assertThat(client.status(3)).as("another stream on the same connection").isEqualTo(200);

            client.windowUpdate(1, 8 << 20);
            readData(client, 1, 8 << 20);
            assertThat(backend.written()).as("the stream goes on once its client reads").isGreaterThan(stalled);

            client.reset(1, 0x8); // CANCEL
            Await.until(Duration.ofSeconds(10), backend::hugeConnectionClosed, "Sluice closes the backend connection of the cancelled stream");
        }
    }

    @Test
    void aBackendThatStopsReadingAnUploadStopsItsClientAndNoOtherStream() throws Exception {
        long size = 96L << 20;
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            Uploads uploads = new Uploads(client);
            client.readTimeout(Duration.ofMillis(300));
            client.headers(1, request("POST", "/upload", "content-length", Long.toString(size)), false);
            long sent = uploads.send(1, size, Duration.ofSeconds(2));
            assertThat(sent).as("bytes Sluice let the client send to a backend that reads none").isLessThan(BOUND);

            client.readTimeout(Duration.ofSeconds(2));
            client.headers(3, request("POST", "/small-upload", "content-length", "100000"), false);
            long sentOnThree = uploads.send(3, 100_000, Duration.ofSeconds(30));
            assertThat(sentOnThree).as("another stream's upload on the same connection").isEqualTo(100_000);
            client.readTimeout(Duration.ofSeconds(10));
            assertThat(client.status(3)).isEqualTo(200);

            backend.readUploads();
            client.readTimeout(Duration.ofMillis(1_000));
            long finalSent = uploads.send(1, size, Duration.ofSeconds(120));
            assertThat(finalSent).isEqualTo(size);
            client.readTimeout(Duration.ofSeconds(10));
            assertThat(client.status(1)).isEqualTo(200);
            assertThat(backend.uploaded()).as("the whole upload reached the backend").isEqualTo(size);
        }
    }

    @Test
    void aClientThatStopsReadingStopsNoOtherResponseOnTheBackendConnectionTheyShare() throws Exception {
        // One event loop, so both requests ride the same HTTP/2 connection to the backend.
        try (H2Backend h2 = H2Backend.cleartext();
             FaultRelay relay = FaultRelay.start(
                     new InetSocketAddress("127.0.0.1", Integer.parseInt(h2.authority().split(":")[1])));
             TestGateway shared = TestGateway.fromYaml(Http2UpstreamTest.h2cCluster(relay.authority(), true));
             Socket slow = new Socket()) {
            // The backend echoes the body: 32 MiB back to a client that reads none of it, more than
            // the sockets' buffers on the way hold, so Sluice stops reading that stream.
            int size = 32 << 20;
            slow.setReceiveBufferSize(8 * 1024);
            slow.connect(shared.address());
            OutputStream out = slow.getOutputStream();
            out.write(("POST /slow HTTP/1.1\r\nhost: a\r\ncontent-length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[size]);
            out.flush();
            Await.until(Duration.ofSeconds(10), () -> h2.seen().size() == 1, "the backend answers the slow client");
            long relayed = awaitSteady(relay::bytesDownstream, () -> true, "the backend's answer stops coming");
            assertThat(relayed).as("bytes of the answer Sluice took while its client read none").isLessThan(BOUND);

            try (RawHttpClient other = RawHttpClient.connect(shared.address())) {
                // 1 MiB back: more than one stream's window, so more than the connection's window
                // left over would carry if the slow stream's unread bytes held it.
                byte[] body = new byte[1 << 20];
                Arrays.fill(body, (byte) 'b');
                RawResponse answer = other
                        .send(("POST /other HTTP/1.1\r\nhost: b\r\ncontent-length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII))
                        .send(body)
                        .readResponse(Duration.ofSeconds(10));
                assertThat(answer.status()).isEqualTo(200);
                assertThat(answer.body()).isEqualTo(body);
            }
            assertThat(h2.connections()).as("both went over one backend connection").isEqualTo(1);
        }
    }

    /** Waits until {@code count} stays the same for half a second while {@code stuck} holds; its value then. */
    private static long awaitSteady(LongSupplier count, BooleanSupplier stuck,
            String what) throws InterruptedException {
        long last = -1;
        int still = 0;
        for (int i = 0; i < 200 && still < 5; i++) {
            Thread.sleep(100);
            long now = count.getAsLong();
            still = stuck.getAsBoolean() && now == last ? still + 1 : 0;
            last = now;
        }
        assertThat(still).as("%s (at %d bytes)", what, last).isEqualTo(5);
        return last;
    }

    /** Reads frames until {@code bytes} more of {@code stream}'s DATA came; what came. */
    private static long readData(RawH2Client client, int stream, long bytes) throws IOException {
        long received = 0;
        while (received < bytes) {
            RawH2Client.Frame frame = client.next();
            assertThat(frame).as("the connection stays open").isNotNull();
            if (frame.stream() == stream && frame.type() == RawH2Client.DATA) {
                received += frame.payload().length;
            }
            assertThat(frame.type()).as("no reset on stream %d", stream).isNotEqualTo(RawH2Client.RST_STREAM);
        }
        return received;
    }

    /** A client's uploads, sent as fast as the server's windows (from its SETTINGS and WINDOW_UPDATEs) allow. */
    private static final class Uploads {
        private final RawH2Client client;
        private long sentOnConnection;
        private final Map<Integer, Long> sent = new HashMap<>();

        Uploads(RawH2Client client) {
            this.client = client;
            client.returnWindowUpdates();
        }

        /**
         * Sends {@code stream}'s body on, up to {@code size} bytes in all, reading the server's frames
         * when no window is left; returns how much of it was sent: {@code size}, or less where no
         * window came for five reads in a row (the server holds it back), or where {@code budget}
         * ran out (a backend's kernel, which never stops taking a few more bytes into a full receive
         * buffer, lets Sluice give back a little window now and then).
         */
        long send(int stream, long size, Duration budget) throws IOException {
            byte[] chunk = new byte[FRAME];
            long done = sent.getOrDefault(stream, 0L);
            long end = System.nanoTime() + budget.toNanos();
            int quiet = 0;
            while (done < size && quiet < 5 && System.nanoTime() < end) {
                long window = Math.min(65_535 + client.granted(0) - sentOnConnection,
                        client.initialWindow() + client.granted(stream) - done);
                if (window > 0) {
                    int n = (int) Math.min(Math.min(window, FRAME), size - done);
                    client.data(stream, n == FRAME ? chunk : new byte[n], done + n == size);
                    done += n;
                    sentOnConnection += n;
                    quiet = 0;
                    continue;
                }
                try {
                    RawH2Client.Frame frame = client.next();
                    if (frame != null && frame.type() == RawH2Client.RST_STREAM && frame.stream() == stream) {
                        fail("stream %d was reset", stream);
                    }
                } catch (SocketTimeoutException noWindow) {
                    quiet++;
                }
            }
            sent.put(stream, done);
            return done;
        }
    }

    /**
     * A backend on blocking sockets, a thread per connection, so what it has sent or read is exact:
     * {@code /huge} is a 1 GiB answer written in 64 KiB writes, {@code /upload} is read only after
     * {@link #readUploads}, anything else is answered at once (its body read first).
     */
    private static final class BlockingBackend implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final AtomicLong written = new AtomicLong();
        private final AtomicBoolean writing = new AtomicBoolean();
        private final AtomicBoolean hugeClosed = new AtomicBoolean();
        private final AtomicLong uploaded = new AtomicLong();
        private final CountDownLatch readUploads = new CountDownLatch(1);

        BlockingBackend() throws IOException {
            Thread.ofPlatform().daemon().name("blocking-backend").start(this::accept);
        }

        String authority() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        long written() {
            return written.get();
        }

        long uploaded() {
            return uploaded.get();
        }

        boolean hugeConnectionClosed() {
            return hugeClosed.get();
        }

        void readUploads() {
            readUploads.countDown();
        }

        /** Waits until the answer to {@code /huge} stopped inside a write (the socket is full); what was written. */
        long awaitStalledWriting() throws InterruptedException {
            return awaitSteady(written::get, writing::get, "the backend's writes block: Sluice stopped reading");
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    Thread.ofPlatform().daemon().name("blocking-backend-connection").start(() -> serve(socket));
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void serve(Socket socket) {
            try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
                while (true) {
                    String head = readHead(in);
                    if (head == null) {
                        return;
                    }
                    String path = head.split(" ", 3)[1];
                    long length = contentLength(head);
                    if (path.equals("/huge")) {
                        writeHuge(out);
                        return;
                    }
                    if (path.equals("/upload")) {
                        readUploads.await();
                    }
                    byte[] buffer = new byte[64 * 1024];
                    for (long left = length; left > 0; ) {
                        int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                        if (n < 0) {
                            return;
                        }
                        left -= n;
                        if (path.equals("/upload")) {
                            uploaded.addAndGet(n);
                        }
                    }
                    byte[] body = Long.toString(length).getBytes(StandardCharsets.US_ASCII);
                    out.write(("HTTP/1.1 200 OK\r\ncontent-length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.flush();
                }
            } catch (IOException | InterruptedException gone) {
                // Sluice closed the connection.
            }
        }

        private void writeHuge(OutputStream out) throws IOException {
            byte[] chunk = new byte[64 * 1024];
            long size = 1L << 30;
            try {
                out.write(("HTTP/1.1 200 OK\r\ncontent-length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                for (long sent = 0; sent < size; sent += chunk.length) {
                    writing.set(true);
                    out.write(chunk);
                    writing.set(false);
                    written.addAndGet(chunk.length);
                }
            } finally {
                writing.set(false);
                hugeClosed.set(true);
            }
        }

        private static String readHead(InputStream in) throws IOException {
            StringBuilder head = new StringBuilder();
            int b;
            while ((b = in.read()) != -1) {
                head.append((char) b);
                if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                    return head.toString();
                }
            }
            return null;
        }

        private static long contentLength(String head) {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                    return Long.parseLong(line.substring(colon + 1).trim());
                }
            }
            return 0;
        }

        @Override
        public void close() throws IOException {
            server.close();
            readUploads.countDown();
        }
    }
}
