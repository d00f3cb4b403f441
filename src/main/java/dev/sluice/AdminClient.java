package dev.sluice;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** The command line's way to a running Sluice: its admin API, found from the options or its state directory. */
final class AdminClient {
    /** 10 s: a rollback validates and swaps in milliseconds; longer means the process is stuck. */
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    record Answer(int status, String body) {}

    private final String address;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    private AdminClient(String address) {
        this.address = address;
    }

    /**
     * The admin address: {@code --admin}, else the one the running process recorded in its state
     * directory ({@code --state-dir}, or the default next to {@code -c FILE}, or
     * {@code ./.sluice-state}), else the {@code admin.address} of {@code -c FILE}.
     */
    static Optional<AdminClient> locate(String admin, Path stateDir, Path config) {
        if (admin != null) {
            return Optional.of(new AdminClient(admin));
        }
        Path dir = stateDir != null ? stateDir
                : config != null ? Sluice.defaultStateDir(config) : Path.of(Sluice.STATE_DIR_NAME);
        Optional<String> recorded = ConfigStore.adminAddressIn(dir);
        if (recorded.isPresent()) {
            return recorded.map(AdminClient::new);
        }
        if (config != null) {
            try {
                return ConfigLoader.load(config).admin().map(a -> a.address())
                        .filter(a -> a.port() != 0).map(a -> new AdminClient(a.toString()));
            } catch (ConfigException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    String address() {
        return address;
    }

    Answer post(String pathAndQuery) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).POST(HttpRequest.BodyPublishers.noBody()));
    }

    Answer get(String pathAndQuery) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).GET());
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://" + address + pathAndQuery);
    }

    private Answer send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.body());
    }
}
