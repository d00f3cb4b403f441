package dev.sluice.replay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sluice.config.ConfigLoader;
import java.io.Console;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sluice replay FILE... --target URL}: sends recorded requests to a target and reports how
 * its answers differ from the recording's, with an exit code a CI pipeline can gate a deploy on:
 * 0 within {@code --max-diff}, 1 beyond it, 2 for bad options or an unreadable recording.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, version = "sluice replay",
        description = {"Send recorded requests (JSON Lines of HAR entries, or HAR files) to a target and compare "
                + "its answers with the recording's: status classes, body hashes (safe methods), failures, latency.",
                "Exit 0 when the requests that differ are within --max-diff, 1 when they exceed it (the routes "
                        + "named), 2 for bad options or input."})
public final class ReplayCommand implements Callable<Integer> {
    /** 32: enough to hold the recording's pace at a few hundred requests a second against a target answering in 100 ms, few enough not to swamp a staging backend. */
    static final int DEFAULT_CONCURRENCY = 32;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "recordings: sluice-record-*.jsonl, or .har files")
    List<Path> files;

    @Option(names = "--target", required = true, paramLabel = "URL", converter = TargetOption.class,
            description = "where to send them: scheme, host and port (http://staging:8080); path and query are the recorded ones")
    URI target;

    @Option(names = "--rate", paramLabel = "RATE", converter = PacingOption.class, defaultValue = "1x",
            description = "1x keeps the recording's pacing, 2x twice as fast, 200/s a fixed rate (default: ${DEFAULT-VALUE})")
    Pacing rate;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "" + DEFAULT_CONCURRENCY,
            description = "requests in flight at most (default: ${DEFAULT-VALUE})")
    int concurrency;

    @Option(names = "--compare",
            description = "count status-class changes and body-hash mismatches as differences (without it, only failures count)")
    boolean compare;

    @Option(names = "--json", description = "print the report as JSON (for machines) instead of a table")
    boolean json;

    @Option(names = "--max-diff", paramLabel = "N|P%", converter = MaxDiffOption.class, defaultValue = "0",
            description = "differing requests tolerated, a count or a share of those sent (default: ${DEFAULT-VALUE})")
    MaxDiff maxDiff;

    @Option(names = "--allow-unsafe",
            description = "send POST, PUT, PATCH, DELETE… too (skipped and counted otherwise: they change the target's state)")
    boolean allowUnsafe;

    // 10 s: a request the recording saw answered at all was answered well within it; a target that
    // needs longer is failing the comparison anyway, and a replay must end.
    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationOption.class, defaultValue = "10s",
            description = "for each request whole: connect, head and body (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (concurrency < 1) {
            err.println("sluice replay: --concurrency must be at least 1");
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        List<RecordedExchange> entries;
        try {
            entries = Recording.read(files, err::println);
        } catch (RecordingException e) {
            err.println(e.getMessage());
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        if (entries.isEmpty()) {
            err.println("sluice replay: the recording has no entries: nothing to replay");
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        InetSocketAddress address;
        try {
            boolean https = target.getScheme().equalsIgnoreCase("https");
            address = new InetSocketAddress(InetAddress.getByName(target.getHost()),
                    target.getPort() != -1 ? target.getPort() : https ? 443 : 80);
        } catch (UnknownHostException e) {
            err.println("sluice replay: the target's host '" + target.getHost() + "' does not resolve");
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        long began = System.nanoTime();
        List<Outcome> outcomes;
        try (Replayer replayer = new Replayer(target, address, timeout, concurrency, allowUnsafe)) {
            outcomes = replayer.replay(entries, rate, interactive() ? Progress.bar(System.err) : Progress.NONE);
        } catch (SSLException e) {
            err.println("sluice replay: TLS for " + target + " cannot be set up: " + e.getMessage());
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        double seconds = (System.nanoTime() - began) / 1e9;
        ReplayReport report = ReplayReport.of(outcomes, compare, maxDiff);
        if (report.sent() == 0) {
            err.println("sluice replay: every recorded request was skipped (" + report.total().skippedUnsafe
                    + " unsafe: --allow-unsafe sends them; " + report.total().skippedTruncatedBody
                    + " with a truncated body): nothing was compared");
            err.flush();
            return CommandLine.ExitCode.USAGE;
        }
        if (json) {
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("target", target.toString());
            run.put("files", files.stream().map(Path::toString).toList());
            run.put("rate", rate.toString());
            run.put("concurrency", concurrency);
            run.put("compare", compare);
            run.put("seconds", Math.round(seconds * 1000) / 1000.0);
            try {
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(report.json(run)));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("a report of plain values always serializes", e);
            }
        } else {
            ReplayReport.Tally all = report.total();
            String skipped = (all.skippedUnsafe == 0 ? "" : "; skipped " + all.skippedUnsafe
                    + " unsafe (--allow-unsafe sends them)")
                    + (all.skippedTruncatedBody == 0 ? "" : "; skipped " + all.skippedTruncatedBody
                    + " whose recorded request body was truncated");
            out.printf(Locale.ROOT, "replayed %d of %d recorded requests to %s in %.1f s (rate %s, concurrency %d)%s%n",
                    all.sent, outcomes.size(), target, seconds, rate, concurrency, skipped);
            out.print(report.table());
            out.println(report.verdict());
        }
        out.flush();
        if (report.exceeded()) {
            err.println("sluice replay: " + report.verdict());
            err.flush();
            return 1;
        }
        return 0;
    }

    /**
     * Whether a person is watching: the progress bar is drawn only then, never into a file or a CI
     * log. {@code Console.isTerminal} (JDK 22+) where there is one, else a console at all (JDK 21
     * has one only for a terminal).
     */
    private static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException jdk21) {
            return true;
        }
    }

    static final class TargetOption implements CommandLine.ITypeConverter<URI> {
        @Override
        public URI convert(String value) {
            try {
                URI uri = new URI(value);
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                boolean pathless = uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/");
                if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && pathless
                        && uri.getRawQuery() == null && uri.getRawFragment() == null) {
                    return uri;
                }
            } catch (URISyntaxException fallThrough) {
                // Told below.
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not a target: write "
                    + "http://HOST:PORT or https://HOST:PORT (the recorded path and query are kept)");
        }
    }

    static final class PacingOption implements CommandLine.ITypeConverter<Pacing> {
        @Override
        public Pacing convert(String value) {
            try {
                return Pacing.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class MaxDiffOption implements CommandLine.ITypeConverter<MaxDiff> {
        @Override
        public MaxDiff convert(String value) {
            try {
                return MaxDiff.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class DurationOption implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return ConfigLoader.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
