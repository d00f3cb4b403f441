package dev.sluice.record;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The recorder thread's work per entry: one exchange like {@code bench/run --mode record}'s (a GET
 * with a few request fields, nginx's 64-byte answer) encoded as its HAR line, hash included, into
 * the encoder's buffer. Run with {@code bench/jmh HarEntry}; not part of the test suite.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HarEntryBenchmark {
    private final HarEntryEncoder encoder = new HarEntryEncoder();
    private final List<String> redact = List.of("authorization", "proxy-authorization", "cookie", "set-cookie");
    private RecordedExchange entry;

    @Setup
    public void setUp() throws IOException {
        byte[] request = "Host: 127.0.0.1:18903\r\nAccept-Encoding: gzip, br\r\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] response = ("Server: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 05:26:56 GMT\r\nContent-Type: text/plain\r\n"
                + "Content-Length: 64\r\nConnection: keep-alive\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] body = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        entry = new RecordedExchange("route-1", 1_796_448_416_028L, 47_668_123, "GET", false, "127.0.0.1:18903", "/",
                "HTTP/1.1", request, new byte[0], 0, 0, 200, "OK", response, 64, body, 64, null, false, 33_817_000,
                5_592_000, 8_259_000, null);
    }

    @Benchmark
    public int encodeOneEntry() {
        encoder.encode(entry, redact);
        return encoder.size();
    }
}
