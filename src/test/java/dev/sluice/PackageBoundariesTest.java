package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The data plane reads immutable snapshots published by the control plane; it never calls the
 * config loaders, the admin API or the CLI (ARCHITECTURE.md §2). Checked on the sources.
 */
class PackageBoundariesTest {
    private static final Path MAIN = Path.of("src/main/java/dev/sluice");
    private static final List<String> DATA_PLANE = List.of("server", "exchange", "http", "route", "upstream", "resilience", "failure");
    /** Config records the data plane may read; everything else in dev.sluice.config is control plane. */
    private static final Pattern CONFIG_RECORD = Pattern.compile(
            "dev\\.sluice\\.config\\.(\\w+Config|HostPort|SluiceConfig)(\\.\\w+)?");
    private static final Pattern REFERENCE = Pattern.compile("dev\\.sluice\\.[A-Za-z.]+");

    @Test
    void dataPlaneNeverReachesIntoTheControlPlane() throws IOException {
        List<String> violations = new ArrayList<>();
        for (String pkg : DATA_PLANE) {
            try (Stream<Path> files = Files.walk(MAIN.resolve(pkg))) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    Matcher m = REFERENCE.matcher(Files.readString(file));
                    while (m.find()) {
                        String ref = m.group();
                        if (!allowed(ref)) {
                            violations.add(MAIN.relativize(file) + " uses " + ref);
                        }
                    }
                }
            }
        }
        assertThat(violations).isEmpty();
    }

    private static boolean allowed(String ref) {
        for (String pkg : DATA_PLANE) {
            if (ref.equals("dev.sluice." + pkg) || ref.startsWith("dev.sluice." + pkg + ".")) {
                return true;
            }
        }
        return ref.equals("dev.sluice.config") || ref.startsWith("dev.sluice.observe.") || CONFIG_RECORD.matcher(ref).matches();
    }
}
