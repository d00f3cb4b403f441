package dev.sluice;

import dev.sluice.admin.AdminGuard;
import dev.sluice.config.AdminToken;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.HostPort;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The command line's way to a running Sluice: its admin API, found from the options or its state directory. */
final class AdminClient {
    /** 10 s: a rollback validates and swaps in milliseconds; longer means the process is stuck. */
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    record Answer(int status, String body) {}

    private final String address;
    private final Optional<AdminToken> token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    private AdminClient(String address, Optional<AdminToken> token) {
        this.address = address;
        this.token = token;
    }

    private AdminClient(String address) {
        this(address, Optional.empty());
    }

    /** This client presenting {@code token} (when present) on every request. */
    AdminClient withToken(Optional<AdminToken> presented) {
        return presented.isEmpty() ? this : new AdminClient(address, presented);
    }

    /**
     * The token to present: {@code --token-file}, else the {@code admin.token} or
     * {@code admin.token_file} of {@code -c FILE} (the source the running sluice read it from),
     * else none. Empty with the reason when the file named cannot give one.
     */
    static Optional<AdminToken> token(Path tokenFile, Path config) throws IOException {
        if (tokenFile != null) {
            String text = Files.readString(tokenFile).strip();
            return Optional.of(AdminToken.of(text).orElseThrow(() -> new IOException(tokenFile
                    + " does not hold a usable token (at least 16 letters, digits or - . _ ~ + /)")));
        }
        if (config == null) {
            return Optional.empty();
        }
        try {
            return ConfigLoader.load(config).admin().flatMap(a -> a.token());
        } catch (ConfigException e) {
            // The address lookup says what is wrong with the file; without it there is no token to read.
            return Optional.empty();
        }
    }

    /** Where the running sluice's admin API is, or why it cannot be told. */
    sealed interface Located {
        record Found(AdminClient client) implements Located {}

        record NotFound(String why) implements Located {}
    }

    /**
     * The admin address: {@code --admin}, else the one the running process recorded in its state
     * directory ({@code --state-dir}, or the default beside {@code -c FILE}), else the
     * {@code admin.address} of {@code -c FILE}. With none of these, the one state directory in the
     * current folder that records a running process; with several, the caller must choose, since
     * acting on the wrong instance is what per-file state directories exist to prevent.
     */
    static Located locate(String admin, Path stateDir, Path config) {
        if (admin != null) {
            return new Located.Found(new AdminClient(admin));
        }
        if (stateDir == null && config == null) {
            return inFolder(Path.of("."));
        }
        Path dir = stateDir != null ? stateDir : Sluice.defaultStateDir(config);
        Optional<String> recorded = ConfigStore.adminAddressIn(dir);
        if (recorded.isPresent()) {
            return new Located.Found(new AdminClient(recorded.get()));
        }
        if (config != null) {
            try {
                Optional<HostPort> configured = ConfigLoader.load(config).admin().map(a -> a.address())
                        .filter(a -> a.port() != 0);
                if (configured.isPresent()) {
                    return new Located.Found(new AdminClient(configured.get().toString()));
                }
            } catch (ConfigException e) {
                // Unreadable: fall through to "not found", which says what to pass instead.
            }
        }
        return new Located.NotFound("no running sluice recorded its admin address in " + dir);
    }

    /** The one state directory in {@code folder} recorded by a running process. */
    static Located inFolder(Path folder) {
        List<Path> running = new ArrayList<>();
        try (Stream<Path> entries = Files.list(folder)) {
            for (Path entry : entries.sorted().toList()) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".") && name.endsWith(Sluice.STATE_DIR_SUFFIX)
                        && ConfigStore.adminAddressIn(entry).isPresent()) {
                    running.add(entry);
                }
            }
        } catch (IOException e) {
            return new Located.NotFound("cannot list " + folder + ": " + e.getMessage());
        }
        if (running.size() == 1) {
            return new Located.Found(new AdminClient(ConfigStore.adminAddressIn(running.get(0)).orElseThrow()));
        }
        return new Located.NotFound(running.isEmpty()
                ? "no state directory in " + folder + " records a running sluice"
                : "state directories of several running sluices are here (" + running.stream()
                        .map(p -> p.getFileName().toString()).collect(Collectors.joining(", ")) + "); say which");
    }

    String address() {
        return address;
    }

    /** With {@code X-Sluice-Admin}, without which the admin refuses a state-changing request (see AdminGuard). */
    Answer post(String pathAndQuery) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).header(AdminGuard.CSRF_HEADER, "1")
                .POST(HttpRequest.BodyPublishers.noBody()));
    }

    Answer get(String pathAndQuery) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).GET());
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://" + address + pathAndQuery);
    }

    private Answer send(HttpRequest.Builder request) throws IOException, InterruptedException {
        token.ifPresent(t -> request.header("Authorization", t.authorization()));
        HttpResponse<String> response = http.send(request.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.body());
    }
}
