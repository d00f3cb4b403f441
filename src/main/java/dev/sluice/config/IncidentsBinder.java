package dev.sluice.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Binds {@code incidents: { ... }} and {@code alerts: { webhook, secret | secret_file }}. */
final class IncidentsBinder {
    private static final List<String> INCIDENT_KEYS = List.of("enabled", "window", "error_ratio", "over_baseline",
            "latency_p99", "min_requests", "close_after");
    private static final List<String> ALERT_KEYS = List.of("webhook", "secret", "secret_file");
    /** 16 characters: as for the admin token, a shorter key can be guessed offline from one signed alert. */
    static final int MIN_SECRET_LENGTH = 16;

    private final Values values;

    IncidentsBinder(Values values) {
        this.values = values;
    }

    Optional<IncidentsConfig> incidents(YamlNode node) {
        return values.map(node, "incidents").flatMap(map -> {
            int before = values.problems().count();
            Fields f = Fields.of(map, "incidents", INCIDENT_KEYS, values.problems());
            IncidentsConfig d = IncidentsConfig.DEFAULT;
            boolean enabled = f.optional("enabled").flatMap(n -> values.bool(n, f.path("enabled"))).orElse(d.enabled());
            Duration window = f.optional("window").flatMap(n -> values.duration(n, f.path("window"))
                    .filter(w -> within(n, f.path("window"), w, Duration.ofSeconds(1), IncidentsConfig.MOST_WINDOW)))
                    .orElse(d.window());
            double errorRatio = f.optional("error_ratio").flatMap(n -> values.decimal(n, f.path("error_ratio"), 0, 1, false))
                    .orElse(d.errorRatio());
            double overBaseline = f.optional("over_baseline")
                    .flatMap(n -> values.decimal(n, f.path("over_baseline"), 1, 1000, true)).orElse(d.overBaseline());
            Duration latency = f.optional("latency_p99").flatMap(n -> values.duration(n, f.path("latency_p99")))
                    .orElse(d.latencyP99());
            int minRequests = f.optional("min_requests")
                    .flatMap(n -> values.integer(n, f.path("min_requests"), 1, 1_000_000)).orElse(d.minRequests());
            Duration closeAfter = f.optional("close_after").flatMap(n -> values.duration(n, f.path("close_after")))
                    .orElse(d.closeAfter());
            if (values.problems().count() > before) {
                return Optional.empty();
            }
            return Optional.of(new IncidentsConfig(enabled, window, errorRatio, overBaseline, latency, minRequests,
                    closeAfter));
        });
    }

    Optional<AlertsConfig> alerts(YamlNode node) {
        return values.map(node, "alerts").flatMap(map -> {
            Fields f = Fields.of(map, "alerts", ALERT_KEYS, values.problems());
            Optional<URI> webhook = f.required("webhook").flatMap(n -> values.parsed(n, f.path("webhook"),
                    "an http or https URL", IncidentsBinder::webhook));
            Optional<String> secret = secret(f);
            if (webhook.isEmpty() || secret.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(new AlertsConfig(webhook.get(), secret.get()));
        });
    }

    static Parsed<URI> webhook(String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            return Parsed.invalid("'" + text + "' is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return Parsed.invalid("'" + text + "' must start with http:// or https://");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            return Parsed.invalid("'" + text + "' names no host");
        }
        return Parsed.ok(uri);
    }

    /**
     * {@code secret} (in the file) or {@code secret_file} (an absolute path, so the config can be
     * versioned and shown by {@code GET /config} without it); one of them is required: an unsigned
     * alert could come from anyone who finds the receiver.
     */
    private Optional<String> secret(Fields f) {
        Optional<YamlNode> inline = f.optional("secret");
        Optional<YamlNode> file = f.optional("secret_file");
        if (inline.isPresent() && file.isPresent()) {
            values.invalid(file.get(), f.path("secret_file"), "give either 'secret' or 'secret_file', not both");
            return Optional.empty();
        }
        if (inline.isEmpty() && file.isEmpty()) {
            values.problems().add(f.at(), "alerts: give 'secret' or 'secret_file' (a file holding it, e.g. made with "
                    + "`openssl rand -hex 32`): alerts are signed so the receiver can tell them from anyone's");
            return Optional.empty();
        }
        if (inline.isPresent()) {
            return values.text(inline.get(), f.path("secret"), "a secret").filter(s -> longEnough(inline.get(),
                    f.path("secret"), s));
        }
        return file.flatMap(n -> values.text(n, f.path("secret_file"), "a file path").flatMap(name -> {
            java.nio.file.Path path = java.nio.file.Path.of(name);
            if (!path.isAbsolute()) {
                // A rollback loads a stored copy of the config from the state directory.
                values.invalid(n, f.path("secret_file"), "'" + name + "' must be an absolute path");
                return Optional.empty();
            }
            try {
                String text = java.nio.file.Files.readString(path).strip();
                return longEnough(n, f.path("secret_file"), text) ? Optional.of(text) : Optional.empty();
            } catch (java.nio.file.NoSuchFileException e) {
                values.invalid(n, f.path("secret_file"), "cannot read '" + name + "': file not found");
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                values.invalid(n, f.path("secret_file"), "cannot read '" + name + "': " + e.getMessage());
            }
            return Optional.empty();
        }));
    }

    private boolean longEnough(YamlNode node, String path, String secret) {
        if (secret.length() >= MIN_SECRET_LENGTH) {
            return true;
        }
        values.invalid(node, path, "a secret needs at least " + MIN_SECRET_LENGTH + " characters (got "
                + secret.length() + "); make one with `openssl rand -hex 32`");
        return false;
    }

    private boolean within(YamlNode node, String path, Duration d, Duration least, Duration most) {
        if (d.compareTo(least) >= 0 && d.compareTo(most) <= 0) {
            return true;
        }
        values.invalid(node, path, Durations.format(d) + " is out of range; it must be from " + Durations.format(least)
                + " to " + Durations.format(most));
        return false;
    }
}
