package dev.sluice.replay;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * One recorded exchange as replay needs it, read from a HAR 1.2 entry: the request to send again
 * and what the recording saw answered.
 *
 * @param source            where the entry was read, {@code FILE:LINE}, for messages
 * @param started           the entry's {@code startedDateTime}: the original pacing
 * @param route             the entry's {@code _route}, or {@code METHOD /path/template} without one
 * @param recordedStatus    the recorded status; 0 when the recording saw no response (HAR's convention)
 * @param recordedMillis    the entry's {@code time}: how long the whole exchange took then
 * @param recordedBodySha256 hex SHA-256 of the whole recorded response body, when it can be compared
 *                           (present, and the recorded body was not truncated)
 * @param requestBodyTruncated the recorded request body is only a prefix of the real one: sending it
 *                           would be a different request, so the entry is skipped
 */
record RecordedExchange(String source, Instant started, String route, String method, URI url,
                        List<Header> headers, byte[] body, boolean requestBodyTruncated, int recordedStatus,
                        double recordedMillis, Optional<String> recordedBodySha256) {

    /** RFC 9110 §9.2.1: the methods whose replay cannot change the target's state. */
    private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS", "TRACE");

    record Header(String name, String value) {}

    boolean safe() {
        return SAFE.contains(method.toUpperCase(Locale.ROOT));
    }
}
