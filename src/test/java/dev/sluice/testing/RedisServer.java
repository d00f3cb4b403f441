package dev.sluice.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} on a free loopback port, nothing persisted ({@code --save ''
 * --appendonly no}), for the tests of global rate limits. It can be killed and started again on
 * the same port, or paused (SIGSTOP) so that it holds its connections and answers nothing.
 *
 * <p>A machine without {@code redis-server} fails the test that needs it, with how to get it:
 * {@code bin/test} installs it, and nothing is skipped.
 */
public final class RedisServer implements AutoCloseable {
    private static final List<Path> PLACES = List.of(Path.of("/usr/bin/redis-server"),
            Path.of("/usr/local/bin/redis-server"), Path.of("/opt/homebrew/bin/redis-server"));

    private final Path binary;
    private final int port;
    private final Path dir;
    private Process process;

    private RedisServer(Path binary, int port, Path dir) {
        this.binary = binary;
        this.port = port;
        this.dir = dir;
    }

    /** Starts one on a free port and waits until it answers PING. */
    public static RedisServer start() {
        try {
            RedisServer redis = new RedisServer(binary(), Ports.freeLoopbackPort(), Files.createTempDirectory("sluice-redis"));
            redis.startAgain();
            return redis;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code redis-server} from the PATH or a usual place; a clear failure when there is none. */
    static Path binary() {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, "redis-server"));
            }
        }
        candidates.addAll(PLACES);
        return candidates.stream().filter(Files::isExecutable).findFirst().orElseThrow(() -> new AssertionError(
                "redis-server is not installed (looked in PATH and " + PLACES + "): the global rate limit tests need "
                        + "a real one. bin/test installs it (apt-get install -y redis-server); or install it yourself"));
    }

    public int port() {
        return port;
    }

    /** {@code 127.0.0.1:PORT}, as a config writes it. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /** Starts the server (again, after {@link #kill}) on the same port, and waits until it answers. */
    public void startAgain() {
        try {
            process = new ProcessBuilder(binary.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--loglevel", "warning")
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        Await.until(Duration.ofSeconds(10), () -> !process.isAlive() || answersPing(),
                () -> "redis-server on port " + port + " to answer PING; its log:\n" + log());
        if (!process.isAlive()) {
            throw new AssertionError("redis-server exited with " + process.exitValue() + ":\n" + log());
        }
    }

    /** Kills it (SIGKILL) and waits until it is gone: its clients see their connections reset. */
    public void kill() {
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new AssertionError("redis-server still running after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGSTOP: it keeps its connections open and answers nothing until {@link #resume}. */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new AssertionError("kill -" + name + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether it answers PING within a second. */
    public boolean answersPing() {
        return "+PONG".equals(command("PING"));
    }

    /** One inline command; its reply's first line. */
    public String command(String line) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            socket.setSoTimeout(1_000);
            OutputStream out = socket.getOutputStream();
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder reply = new StringBuilder();
            for (int b = in.read(); b >= 0 && b != '\r'; b = in.read()) {
                reply.append((char) b);
            }
            return reply.toString();
        } catch (IOException e) {
            return "";
        }
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("redis.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            resume();
            kill();
        }
    }
}
