package dev.sluice.config;

import java.util.List;
import java.util.Optional;

/**
 * The access log ({@code access_log:}).
 *
 * @param path file to append JSON lines to; empty means standard output
 * @param redactQuery the query parameters whose values the log replaces with {@code REDACTED};
 *     empty means Sluice's default list (docs/failures.md), a given list replaces it
 */
public record AccessLogConfig(boolean enabled, Optional<String> path, Optional<List<String>> redactQuery) {
    public static final AccessLogConfig STDOUT = new AccessLogConfig(true, Optional.empty(), Optional.empty());

    public AccessLogConfig(boolean enabled, Optional<String> path) {
        this(enabled, path, Optional.empty());
    }
}
