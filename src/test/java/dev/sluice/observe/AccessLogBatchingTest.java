package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How lines reach their file: whole, batched, within the flush interval, dropped rather than waited for. */
class AccessLogBatchingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static RequestLog request(String id) {
        RequestLog r = new RequestLog(System.currentTimeMillis(), 0);
        r.received(id, "127.0.0.1", "GET", "/path/" + id + "?q=\"é\"", "HTTP/1.1", "example.com");
        r.routed("all", "app", 1);
        r.responded(200);
        r.completed(1_000_000);
        return r;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void linesWrittenFromManyThreadsAtOnceAreWholeJsonObjectsEachThreadsInOrder() throws Exception {
        Path file = dir.resolve("access.log");
        int threads = 8;
        int perThread = 4_000;
        AccessLog log = AccessLog.toFile(file);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> loggers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            loggers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    log.log(request(thread + "-" + i));
                }
            }));
        }
        start.countDown();
        for (Thread t : loggers) {
            t.join(T.toMillis());
        }
        log.close();

        // Eight threads flat out outrun one writer on a small machine: some lines may be dropped
        // (and counted), but every line written is whole and each thread's lines keep their order.
        Map<String, Integer> last = new HashMap<>();
        List<String> written = lines(file);
        for (String line : written) {
            JsonNode json = JSON.readTree(line);
            String[] id = json.get("request_id").asText().split("-");
            assertThat(json.get("path").asText()).isEqualTo("/path/" + id[0] + "-" + id[1] + "?q=\"é\"");
            int previous = last.getOrDefault(id[0], -1);
            assertThat(Integer.parseInt(id[1])).as("thread %s's lines in order", id[0]).isGreaterThan(previous);
            last.put(id[0], Integer.parseInt(id[1]));
        }
        assertThat(written.size() + log.droppedLines()).isEqualTo((long) threads * perThread);
        assertThat(last).hasSize(threads);
    }

    @Test
    void aLineLoggedAtLowTrafficReachesTheFileWithinTheFlushIntervalWithoutAClose() throws Exception {
        Path file = dir.resolve("access.log");
        try (AccessLog log = AccessLog.toFile(file)) {
            log.log(request("lonely"));
            Await.until(T, () -> lines(file).size() == 1, "the one line in the file");
            assertThat(JSON.readTree(lines(file).get(0)).get("request_id").asText()).isEqualTo("lonely");

            log.log(request("second"));
            Await.until(T, () -> lines(file).size() == 2, "the second line in the file");
        }
    }

    @Test
    void aBlockedStreamNeverBlocksLogTheExcessIsDroppedAndCountedAndLinesFlowAgainWhenItUnblocks()
            throws Exception {
        BlockingStream out = new BlockingStream();
        AccessLog log = AccessLog.toStream(out);
        GatewayMetrics metrics = new GatewayMetrics();
        metrics.countDroppedLines(log);
        try {
            log.log(request("first"));
            Await.until(T, () -> out.blockedWriters() == 1, "the writer stuck in write");

            // Far more than the lane's batches hold: log() must return every time.
            int burst = 100_000;
            Thread logger = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < burst; i++) {
                    log.log(request("burst-" + i));
                }
            });
            logger.join(T.toMillis());
            assertThat(logger.isAlive()).as("log() returned for every line while the stream was blocked").isFalse();
            long dropped = log.droppedLines();
            assertThat(dropped).isPositive().isLessThan(burst);
            assertThat(metrics.scrape()).contains("sluice_access_log_dropped_total " + dropped + ".0");

            out.unblock();
            Await.until(T, () -> out.lines().size() == 1 + burst - dropped,
                    () -> "the lines not dropped written; " + out.lines().size());
            log.log(request("after"));
            Await.until(T, () -> out.lines().size() == 2 + burst - dropped, "a line logged after the unblock");
            assertThat(out.lines().get(out.lines().size() - 1)).contains("\"request_id\":\"after\"");
            assertThat(log.droppedLines()).isEqualTo(dropped);
        } finally {
            out.unblock();
            log.close();
        }
    }

    @Test
    void linesWhoseWriteFailedAreCountedAsDropped() throws Exception {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        try (AccessLog log = AccessLog.toStream(broken)) {
            for (int i = 0; i < 3; i++) {
                log.log(request("lost-" + i));
            }
            Await.until(T, () -> log.droppedLines() == 3, "three lines counted as dropped");
        }
    }

    @Test
    void reopenAfterTheFileWasRenamedWritesNewLinesToANewFileAndTheOldFileKeepsTheOldOnes() throws Exception {
        Path file = dir.resolve("logs/access.log");
        Path rotated = dir.resolve("logs/access.log.1");
        try (AccessLog log = AccessLog.toFile(file)) {
            log.log(request("before-1"));
            Await.until(T, () -> lines(file).size() == 1, "the first line in the file");
            Files.move(file, rotated);
            // Logged after the rename, before the reopen: still the open file's, as with nginx.
            log.log(request("before-2"));
            log.reopen().get(T.toMillis(), TimeUnit.MILLISECONDS);
            log.log(request("after"));
            Await.until(T, () -> lines(file).size() == 1, "a line in the new file");
        }
        assertThat(lines(rotated)).hasSize(2).allSatisfy(l -> assertThat(l).contains("\"request_id\":\"before-"));
        assertThat(lines(file)).singleElement().satisfies(l -> assertThat(l).contains("\"request_id\":\"after\""));
    }

    @Test
    void aLineLongerThanABatchIsWrittenWhole() throws Exception {
        Path file = dir.resolve("access.log");
        String path = "/" + "\u0001".repeat(AccessLogLane.BATCH_BYTES);
        try (AccessLog log = AccessLog.toFile(file)) {
            log.log(request("short-1"));
            RequestLog r = request("long");
            r.received("long", null, "GET", path, "HTTP/1.1", null);
            log.log(r);
            log.log(request("short-2"));
            Await.until(T, () -> lines(file).size() == 3, "three lines");
        }
        List<String> lines = lines(file);
        assertThat(JSON.readTree(lines.get(1)).get("path").asText()).isEqualTo(path);
        assertThat(lines.get(2)).contains("short-2");
    }

    @Test
    void closeWritesWhatWasLoggedBeforeAndLaterLinesAreIgnored() throws Exception {
        Path file = dir.resolve("access.log");
        AccessLog log = AccessLog.toFile(file);
        for (int i = 0; i < 1000; i++) {
            log.log(request("r" + i));
        }
        log.close();
        assertThat(lines(file)).hasSize(1000);
        log.log(request("late"));
        assertThat(lines(file)).hasSize(1000);
        assertThat(AccessLog.DISABLED.enabled()).isFalse();
        AccessLog.DISABLED.log(request("nowhere"));
        assertThat(AccessLog.DISABLED.droppedLines()).isZero();
    }

    /** An output stream (a pipe nobody reads, say) whose writes wait until {@link #unblock}. */
    private static final class BlockingStream extends OutputStream {
        private final CountDownLatch open = new CountDownLatch(1);
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private volatile int blocked;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            blocked++;
            try {
                open.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
        }

        int blockedWriters() {
            return open.getCount() == 0 ? 0 : blocked;
        }

        void unblock() {
            open.countDown();
        }

        List<String> lines() {
            synchronized (bytes) {
                String text = bytes.toString(StandardCharsets.UTF_8);
                return text.isEmpty() ? List.of() : List.of(text.split("\n"));
            }
        }
    }
}
