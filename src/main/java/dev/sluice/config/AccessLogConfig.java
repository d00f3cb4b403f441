package dev.sluice.config;

import java.util.Optional;

/**
 * The access log ({@code access_log:}).
 *
 * @param path file to append JSON lines to; empty means standard output
 */
public record AccessLogConfig(boolean enabled, Optional<String> path) {
    public static final AccessLogConfig STDOUT = new AccessLogConfig(true, Optional.empty());
}
