package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2's frame path: arbitrary bytes after the client's connection preface (and an empty
 * SETTINGS frame) through a real Sluice on an h2c listener, that is Netty's frame codec, {@code
 * Http2ClientConnection}, one {@code ClientStream} per stream and {@code Http2Requests}, to a
 * backend that parses what it gets with Netty's HTTP/1.1 decoder, as an application server would.
 * Real sockets rather than an {@code EmbeddedChannel}: each stream's exchange runs on the
 * gateway's own event loops and connects to its endpoints there, so the pipeline cannot stand
 * alone without the gateway.
 *
 * <p>The model of what the client sent is Netty's frame reader (HPACK included) reading the same
 * bytes, with no validation: each stream's header blocks, DATA and END_STREAM. After the input,
 * the client sends a PING; its ACK says Sluice has read every frame. The client then ends each
 * stream it left open (an empty DATA frame with END_STREAM), so that every well-formed request
 * can be forwarded, and reads until every stream is answered or reset, or the connection closed.
 *
 * <p>Invariants, for every input:
 * <ul>
 *   <li>no exception escapes: nothing is logged at WARN or above (an unexpected error a stream
 *       or the connection caught, an exception reaching the pipeline's tail, a leak report);
 *   <li>no hang: Sluice answers the PING, then answers or resets every stream, or closes;
 *   <li>memory stays bounded: once the client has gone, no exchange, client connection or
 *       backend connection remains, and the buffers held stay under {@link #BUFFER_CEILING};
 *   <li>every stream is refused or becomes a valid request: each request the backend receives
 *       parses, and is one stream's exactly, with its method, {@code :path}, its DATA as the
 *       body and its end-to-end fields; that stream's head is one RFC 9113 §8 lets through (no
 *       connection-specific field, {@code te} only {@code trailers}, no CR, LF or NUL, lowercase
 *       names, an origin-form {@code :path}, a {@code content-length} equal to its DATA); the
 *       request has one framing ({@code content-length} or chunked); each stream reaches the
 *       backend at most once, and every stream answered with the backend's response did reach it.
 * </ul>
 * Seeds (frames, each named for its shape: requests with and without bodies and trailers, the
 * smuggling shapes, :path tricks, CONTINUATION, padding, priority, resets, floods, frames out of
 * order) in {@code Http2FramesFuzzTestInputs/frames/}.
 */
class Http2FramesFuzzTest {
    private static final int MAX_INPUT = 4096;
    /** The client's own PING after the input: its ACK means every frame before it was read. */
    private static final byte[] MARK = "sluice-f".getBytes(StandardCharsets.US_ASCII);
    private static final long SETTLE_NANOS = 20_000_000_000L;
    /**
     * 256 MiB: far above what the gateway's, the backend's and the test's buffers hold between inputs
     * (a few pooled chunks), far below what a connection that kept what it read would hold after
     * thousands of inputs.
     */
    private static final long BUFFER_CEILING = 256L << 20;
    /** Fields Sluice sets, replaces or removes on the way (framing, forwarding, tracing; cookie crumbs joined). */
    private static final Set<String> EDITED = Set.of("host", "content-length", "transfer-encoding", "te", "cookie",
            "expect", "trailer", "proxy-authenticate", "http2-settings", "sec-websocket-key",
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "via",
            "x-request-id", "traceparent", "tracestate");
    private static final Set<String> CONNECTION_SPECIFIC = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade");
    /** What the backend records for a request whose connection closed before it ended (BackendConnection). */
    private static final String CUT = "connection closed before the request ended";
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1");

    private static TestBackend backend;
    private static TestGateway gateway;
    private static ListAppender<ILoggingEvent> warnings;

    @BeforeAll
    static void start() throws Exception {
        // The backend closes after each response, so no connection to it outlives its request:
        // once none is open, every request Sluice sent is recorded.
        backend = TestBackend.builder().handler(BackendHandlers.connectionClose(BackendHandlers.fixed(200, "ok")))
                .recordBodyLimit(2 * MAX_INPUT).start();
        // Small limits, so that inputs of a few KiB reach them: 431 by count and by size, a header
        // block growing past the GOAWAY bound, REFUSED_STREAM, the reset and CONTINUATION floods.
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    max_headers: 16
                    http2:
                      h2c: true
                      max_concurrent_streams: 8
                      max_header_list_size: 1KiB
                      max_small_continuation_frames: 4
                      max_resets: 16
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    concurrency: { limit: off }
                """.formatted(backend.authority()));
        // The first request loads (and, when fuzzing, instruments) the whole path: on a loaded
        // machine that takes longer than an input may wait.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(1, RawH2Client.request("GET", "/warm-up"), true);
            assertThat(client.status(1)).isEqualTo(200);
        }
        settle();
        backend.clearRequests();
        warnings = new ListAppender<>();
        warnings.start();
        root().addAppender(warnings);
    }

    @AfterAll
    static void stop() {
        if (warnings != null) {
            root().detachAppender(warnings);
        }
        if (gateway != null) {
            gateway.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private static ch.qos.logback.classic.Logger root() {
        return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    @FuzzTest(maxDuration = "60s")
    void frames(byte[] input) throws Exception {
        if (input.length > MAX_INPUT) {
            return;
        }
        byte[] frames = wholeFrames(input);
        backend.clearRequests();
        synchronized (warnings) {
            warnings.list.clear();
        }
        Sent sent = Sent.read(frames);
        Map<Integer, Answer> answers = new LinkedHashMap<>();
        // Jazzer's SSRF detector flags every socket a fuzzed input leads to: these are the test's own, on loopback.
        try (SilentCloseable loopback = BugDetectors.allowNetworkConnections((host, port) -> LOOPBACK.contains(host));
             RawH2Client client = new RawH2Client(gateway.address())) {
            converse(client, frames, sent, answers);
        }
        try (SilentCloseable loopback = BugDetectors.allowNetworkConnections((host, port) -> LOOPBACK.contains(host))) {
            settle(); // probes the backend's listen queue with a connection of its own
        }
        if (io.netty.util.ResourceLeakDetector.getLevel() == io.netty.util.ResourceLeakDetector.Level.PARANOID) {
            // Test runs track every buffer: a buffer this input leaked is collected now and reported
            // (at the next buffer tracked), so the report names this input. Fuzzing samples instead.
            System.gc();
            ByteBufAllocator.DEFAULT.directBuffer(1).release();
        }
        List<String> logged;
        synchronized (warnings) {
            logged = warnings.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(e -> e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage()
                            + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getClassName()
                            + ": " + e.getThrowableProxy().getMessage()))
                    .toList();
        }
        assertThat(logged).as("warnings and errors logged (an exception escaped, or a leak)").isEmpty();
        assertThat(bufferMemory()).as("buffer memory held after the input").isLessThan(BUFFER_CEILING);
        checkForwarded(sent, answers);
    }

    /** What the client saw of one stream. */
    record Answer(int status, boolean local, boolean reset) {}

    /** The input, then the PING; once it is answered, the open streams ended; then every answer. */
    private static void converse(RawH2Client client, byte[] frames, Sent sent, Map<Integer, Answer> answers)
            throws IOException {
        try {
            client.raw(frames);
            client.frame(RawH2Client.PING, 0, 0, MARK);
            client.flush();
        } catch (IOException closed) {
            // Sluice closed the connection on a connection error part-way through the input.
        }
        Set<Integer> ended = new HashSet<>();
        int acks = 0;
        try {
            RawH2Client.Frame frame;
            while (acks <= sent.marks && (frame = client.next()) != null) {
                if (frame.type() == RawH2Client.PING && java.util.Arrays.equals(frame.payload(), MARK)) {
                    acks++;
                } else {
                    take(frame, answers, ended);
                }
            }
            if (acks <= sent.marks) {
                return; // closed
            }
            // Every frame was read. A window the input shrank (SETTINGS_INITIAL_WINDOW_SIZE 0) is
            // given back, and each stream the client left open is ended, so that nothing waits on the client.
            try {
                client.frame(RawH2Client.SETTINGS, 0, 0, new byte[] {0, 4, 0, 0, (byte) 0xff, (byte) 0xff});
                for (int id : sent.open()) {
                    client.frame(RawH2Client.DATA, RawH2Client.END_STREAM, id, new byte[0]);
                    sent.streams.get(id).ended = true;
                }
                client.flush();
            } catch (IOException closed) {
                return;
            }
            List<Integer> awaited = sent.awaited();
            while (!ended.containsAll(awaited) && (frame = client.next()) != null) {
                take(frame, answers, ended);
            }
        } catch (SocketTimeoutException stalled) {
            throw new AssertionError("Sluice stopped answering: PING answered " + acks + " of " + (sent.marks + 1)
                    + " times, streams " + sent.awaited() + " awaited, " + ended + " ended, answers " + answers);
        }
    }

    private static void take(RawH2Client.Frame frame, Map<Integer, Answer> answers, Set<Integer> ended) {
        int id = frame.stream();
        if (frame.type() == RawH2Client.GOAWAY || id == 0) {
            return;
        }
        if (frame.type() == RawH2Client.HEADERS && frame.headers().status() != null) {
            int status = Integer.parseInt(frame.headers().status().toString());
            if (status >= 200) {
                answers.put(id, new Answer(status, frame.headers().contains("x-sluice-error"), false));
            }
        }
        if (frame.type() == RawH2Client.RST_STREAM) {
            Answer before = answers.get(id);
            answers.put(id, new Answer(before == null ? -1 : before.status(), before != null && before.local(), true));
            ended.add(id);
        } else if (frame.endStream()) {
            ended.add(id);
        }
    }

    /**
     * Until nothing of the input is left anywhere: no exchange, no client connection, no backend
     * connection, and none of the connections Sluice opened still waiting in the backend's listen
     * queue. Such a connection can carry a whole request: a stream ended, Sluice forwarded it, then
     * the client left, so the exchange ended (499) and Sluice closed the connection, whose bytes
     * wait in the queue until the backend takes them. Uncounted, that request would be recorded
     * during the next input, as a request no stream of it sent.
     */
    private static void settle() throws InterruptedException {
        Gateway g = gateway.gateway();
        long until = System.nanoTime() + SETTLE_NANOS;
        do {
            while (g.activeExchanges() > 0 || g.openClientConnections() > 0 || backend.openConnections() > 0) {
                assertThat(System.nanoTime() - until).as("still held after the client left: %d exchanges, %d client "
                                + "connections, %d backend connections", g.activeExchanges(), g.openClientConnections(),
                        backend.openConnections()).isNegative();
                Thread.sleep(1);
            }
            backend.awaitQueuedConnections(java.time.Duration.ofNanos(SETTLE_NANOS));
        } while (backend.openConnections() > 0);
    }

    private static long bufferMemory() {
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            ByteBufAllocatorMetric metric = provider.metric();
            return metric.usedDirectMemory() + metric.usedHeapMemory();
        }
        return 0;
    }

    /**
     * Each request the backend got is one stream's, whole, and that stream's head may be
     * forwarded; each stream goes at most once; every stream answered by the backend got there.
     */
    private static void checkForwarded(Sent sent, Map<Integer, Answer> answers) {
        Set<Integer> forwarded = new HashSet<>();
        for (RecordedRequest r : backend.requests()) {
            if (CUT.equals(r.failure())) {
                continue; // a request whose client left is cut short on its way: the backend never sees it whole
            }
            assertThat(r.failure()).as("the backend could not parse what Sluice sent: %s", r).isNull();
            // Of streams alike (same method, target and body), one Sluice may forward is taken first,
            // and of those one whose end-to-end fields the request carries: the request is that
            // one's, whichever of the others Sluice refused or forwarded too.
            Optional<Stream> match = sent.streams.values().stream()
                    .filter(s -> !forwarded.contains(s.id) && s.forwardedAs(r))
                    .min(java.util.Comparator.<Stream, Boolean>comparing(s -> refusal(s).isPresent())
                            .thenComparing(s -> !fieldsAgree(s, r)));
            assertThat(match).as("the backend got %s %s (body %s) from no stream the client sent: %s", r.method(),
                    r.uri(), r.bodyString(), sent.streams.values()).isPresent();
            Stream stream = match.get();
            forwarded.add(stream.id);
            assertThat(refusal(stream)).as("stream %d was forwarded: %s", stream.id, stream).isEmpty();
            checkFraming(r);
            checkFields(stream, r);
        }
        for (Map.Entry<Integer, Answer> answer : answers.entrySet()) {
            Stream stream = sent.streams.get(answer.getKey());
            if (answer.getValue().status() == 200 && !answer.getValue().local() && stream != null) {
                assertThat(refusal(stream)).as("stream %d got the backend's answer: %s", stream.id, stream).isEmpty();
            }
        }
        long answeredByBackend = answers.values().stream().filter(a -> a.status() == 200 && !a.local()).count();
        assertThat((long) forwarded.size()).as("streams answered by the backend %s, requests it got %s", answers,
                backend.requests()).isGreaterThanOrEqualTo(answeredByBackend);
    }

    private static void checkFraming(RecordedRequest r) {
        List<String> lengths = values(r.headers(), "content-length");
        List<String> codings = values(r.headers(), "transfer-encoding");
        assertThat(lengths.size() + codings.size()).as("one framing: %s", r.headers()).isLessThanOrEqualTo(1);
        if (!lengths.isEmpty()) {
            assertThat(lengths.getFirst()).isEqualTo(String.valueOf(r.bodyLength()));
        }
        if (!codings.isEmpty()) {
            assertThat(codings.getFirst()).isEqualToIgnoringCase("chunked");
        }
    }

    /** The client's end-to-end fields arrive as they were sent, in order; what Sluice adds of its own is left out. */
    private static void checkFields(Stream stream, RecordedRequest r) {
        assertThat(receivedFields(stream, r)).as("the end-to-end fields of stream %d", stream.id)
                .isEqualTo(endToEndFields(stream));
        List<String> cookies = cookies(stream);
        if (!cookies.isEmpty()) {
            assertThat(values(r.headers(), "cookie")).as("cookie crumbs joined (RFC 9113 §8.2.3)")
                    .containsExactly(String.join("; ", cookies));
        }
    }

    /** Whether {@code r} carries {@code stream}'s end-to-end fields as {@link #checkFields} wants them. */
    private static boolean fieldsAgree(Stream stream, RecordedRequest r) {
        List<String> cookies = cookies(stream);
        return receivedFields(stream, r).equals(endToEndFields(stream))
                && (cookies.isEmpty() || values(r.headers(), "cookie").equals(List.of(String.join("; ", cookies))));
    }

    /** The stream's fields Sluice passes on as they are, in order. */
    private static List<Map.Entry<String, String>> endToEndFields(Stream stream) {
        List<Map.Entry<String, String>> sent = new ArrayList<>();
        for (Map.Entry<CharSequence, CharSequence> field : stream.head()) {
            String name = field.getKey().toString();
            if (!name.startsWith(":") && !EDITED.contains(name)) {
                sent.add(Map.entry(name, field.getValue().toString()));
            }
        }
        return sent;
    }

    /** The fields of {@code r} named as one of the stream's end-to-end fields, in order. */
    private static List<Map.Entry<String, String>> receivedFields(Stream stream, RecordedRequest r) {
        Set<String> names = new HashSet<>();
        endToEndFields(stream).forEach(e -> names.add(e.getKey()));
        return r.headers().stream()
                .map(e -> Map.entry(e.getKey().toLowerCase(Locale.ROOT), e.getValue()))
                .filter(e -> names.contains(e.getKey())).toList();
    }

    private static List<String> cookies(Stream stream) {
        List<String> cookies = new ArrayList<>();
        stream.head().getAll("cookie").forEach(c -> cookies.add(c.toString()));
        return cookies;
    }

    private static List<String> values(List<Map.Entry<String, String>> fields, String name) {
        return fields.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
    }

    /**
     * Why RFC 9113 §8 (and the HTTP/1.1 the head becomes) would not let this stream's request
     * through, or empty: the smuggling shapes, written from the RFC, not from {@code Http2Requests}.
     */
    static Optional<String> refusal(Stream stream) {
        Http2Headers head = stream.head();
        Map<String, String> pseudo = new LinkedHashMap<>();
        boolean regular = false;
        String contentLength = null;
        for (Map.Entry<CharSequence, CharSequence> field : head) {
            String name = field.getKey().toString();
            String value = field.getValue().toString();
            if (value.chars().anyMatch(c -> c == 0 || c == '\r' || c == '\n')) {
                return Optional.of("CR, LF or NUL in " + name);
            }
            if (!value.isEmpty() && (isBlank(value.charAt(0)) || isBlank(value.charAt(value.length() - 1)))) {
                return Optional.of("whitespace around the value of " + name);
            }
            if (name.startsWith(":")) {
                if (regular || !Set.of(":method", ":scheme", ":path", ":authority", ":protocol").contains(name)
                        || pseudo.put(name, value) != null) {
                    return Optional.of("pseudo-field " + name + " out of place, unknown or repeated");
                }
                continue;
            }
            regular = true;
            if (name.isEmpty() || !name.chars().allMatch(c -> c < 0x7f && !Character.isUpperCase(c)
                    && dev.sluice.http.FieldSyntax.isTokenChar((byte) c))) {
                return Optional.of("field name " + name + " not a lowercase token");
            }
            if (CONNECTION_SPECIFIC.contains(name)) {
                return Optional.of("connection-specific " + name);
            }
            if (name.equals("te") && !value.equalsIgnoreCase("trailers")) {
                return Optional.of("te " + value);
            }
            if (name.equals("content-length")) {
                if (value.isEmpty() || !value.chars().allMatch(Character::isDigit)
                        || contentLength != null && !contentLength.equals(value)) {
                    return Optional.of("content-length " + value);
                }
                contentLength = value;
            }
        }
        String method = pseudo.get(":method");
        String scheme = pseudo.get(":scheme");
        String path = pseudo.get(":path");
        if (method == null || scheme == null || path == null) {
            return Optional.of("no :method, :scheme or :path");
        }
        String protocol = pseudo.get(":protocol");
        if (method.equals("CONNECT") != (protocol != null)) {
            return Optional.of("CONNECT without :protocol, or :protocol without CONNECT");
        }
        if (protocol != null && (!protocol.equals("websocket") || contentLength != null || stream.headEnded)) {
            // RFC 8441: only WebSockets are tunnelled, and the stream is the tunnel, not a body.
            return Optional.of("extended CONNECT for " + protocol + (contentLength != null ? " with a content-length"
                    : stream.headEnded ? " with END_STREAM" : ""));
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return Optional.of(":scheme " + scheme);
        }
        boolean originForm = path.startsWith("/") && path.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '#');
        if (!originForm && !(path.equals("*") && method.equals("OPTIONS"))) {
            return Optional.of(":path " + path);
        }
        if (protocol == null && contentLength != null && !new java.math.BigInteger(contentLength).equals(java.math.BigInteger.valueOf(stream.data.size()))) {
            return Optional.of("content-length " + contentLength + " with " + stream.data.size() + " bytes of DATA");
        }
        return Optional.empty();
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    /**
     * The input up to its last whole frame: the client's PING after it must be read as a frame.
     * A frame longer than the largest allowed is kept (Sluice refuses it from its header alone).
     */
    static byte[] wholeFrames(byte[] input) {
        int at = 0;
        while (input.length - at >= 9) {
            int length = ((input[at] & 0xff) << 16) | ((input[at + 1] & 0xff) << 8) | (input[at + 2] & 0xff);
            if (length > Http2CodecUtil.DEFAULT_MAX_FRAME_SIZE) {
                return input;
            }
            if (input.length - at - 9 < length) {
                break;
            }
            at += 9 + length;
        }
        return java.util.Arrays.copyOf(input, at);
    }

    /** One stream as the client sent it. */
    static final class Stream {
        final int id;
        final List<Http2Headers> blocks = new ArrayList<>();
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        /** END_STREAM sent: the request is whole. */
        boolean ended;
        /** The client reset it: Sluice owes it no answer. */
        boolean reset;
        /** Its first HEADERS frame carried END_STREAM. */
        boolean headEnded;

        Stream(int id) {
            this.id = id;
        }

        Http2Headers head() {
            return blocks.getFirst();
        }

        /** An extended CONNECT (RFC 8441): its DATA are a WebSocket's bytes, never a body. */
        boolean webSocket() {
            return !blocks.isEmpty() && head().contains(":protocol");
        }

        /**
         * Whether {@code r} is this stream's request: its method, target and whole body; an
         * extended CONNECT's is the GET that asks the endpoint for the upgrade, with no body.
         */
        boolean forwardedAs(RecordedRequest r) {
            if (blocks.isEmpty() || !ended && !webSocket()) {
                return false;
            }
            CharSequence method = head().method();
            CharSequence path = head().path();
            if (method == null || path == null || !path.toString().equals(r.uri())) {
                return false;
            }
            if (webSocket()) {
                return r.method().equals("GET") && r.bodyLength() == 0
                        && values(r.headers(), "upgrade").equals(List.of("websocket"));
            }
            return method.toString().equals(r.method()) && java.util.Arrays.equals(data.toByteArray(), r.body());
        }

        @Override
        public String toString() {
            return "stream " + id + " " + blocks + " DATA " + data.size() + " bytes" + (ended ? ", ended" : "");
        }
    }

    /** What the client sent, as Netty's frame reader reads it with no validation; up to the first connection error. */
    static final class Sent {
        final Map<Integer, Stream> streams = new LinkedHashMap<>();
        /** The input's own PINGs that carry the client's mark (each answered before the client's). */
        int marks;

        /** Streams opened and neither ended nor reset by the client. */
        List<Integer> open() {
            return streams.values().stream().filter(s -> !s.blocks.isEmpty() && !s.ended && !s.reset)
                    .map(s -> s.id).toList();
        }

        /** Streams Sluice owes an answer or a reset: opened, and not reset by the client. */
        List<Integer> awaited() {
            return streams.values().stream().filter(s -> !s.blocks.isEmpty() && !s.reset).map(s -> s.id).toList();
        }

        static Sent read(byte[] frames) {
            Sent sent = new Sent();
            // Sluice's limits or beyond, so the model reads on where Sluice does.
            DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader(new DefaultHttp2HeadersDecoder(false, 1L << 24));
            EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
            ByteBuf in = Unpooled.wrappedBuffer(frames);
            Http2FrameAdapter listener = new Http2FrameAdapter() {
                @Override
                public int onDataRead(ChannelHandlerContext ctx, int id, ByteBuf bytes, int padding, boolean end) {
                    Stream stream = sent.streams.computeIfAbsent(id, Stream::new);
                    if (!stream.ended) {
                        stream.data.writeBytes(ByteBufUtil.getBytes(bytes));
                        stream.ended = end;
                    }
                    return bytes.readableBytes() + padding;
                }

                @Override
                public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int padding,
                                          boolean end) {
                    Stream stream = sent.streams.computeIfAbsent(id, Stream::new);
                    if (!stream.ended) {
                        stream.headEnded |= stream.blocks.isEmpty() && end;
                        stream.blocks.add(headers);
                        stream.ended = end;
                    }
                }

                @Override
                public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int dependency,
                                          short weight, boolean exclusive, int padding, boolean end) {
                    onHeadersRead(ctx, id, headers, padding, end);
                }

                @Override
                public void onRstStreamRead(ChannelHandlerContext ctx, int id, long errorCode) {
                    sent.streams.computeIfAbsent(id, Stream::new).reset = true;
                }

                @Override
                public void onPingRead(ChannelHandlerContext ctx, long data) {
                    if (data == Unpooled.wrappedBuffer(MARK).readLong()) {
                        sent.marks++;
                    }
                }
            };
            try {
                while (in.isReadable()) {
                    int before = in.readerIndex();
                    try {
                        reader.readFrame(channel.pipeline().firstContext(), in, listener);
                    } catch (Http2Exception.StreamException streamError) {
                        // That stream is reset; the connection reads on.
                    }
                    if (in.readerIndex() == before) {
                        break;
                    }
                }
            } catch (Http2Exception connectionError) {
                // Sluice sends GOAWAY and reads nothing more.
            } finally {
                reader.close();
                channel.finishAndReleaseAll();
            }
            return sent;
        }
    }
}
