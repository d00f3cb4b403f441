package dev.sluice.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A route's traffic recording ({@code routes[].record}): a sampled share of its exchanges is
 * written, as HAR 1.2 entries one per line (docs/recording.md), to rotating files in a directory,
 * off the event loops; what the writer cannot take now is dropped and counted.
 *
 * @param directory where the files go ({@code sluice-record-YYYYMMDD-HHMMSS-N.jsonl}); made when missing
 * @param fraction the share of the route's exchanges recorded, 0 to 1
 * @param maxBody the most of a request body kept in an entry, in bytes; the rest is cut and the entry says so
 * @param redact field names (lower case) left out of every entry, requests and responses
 * @param rotateSize a file is closed and a new one begun once it holds this many bytes
 * @param rotateKeep the newest files kept in the directory; older ones are deleted
 */
public record RecordConfig(Path directory, double fraction, int maxBody, List<String> redact, long rotateSize,
                           int rotateKeep) {

    /** 0.01: one exchange in a hundred is plenty to replay a route's traffic shape, and keeps the disk quiet. */
    public static final double DEFAULT_FRACTION = 0.01;

    /** 64 KiB: JSON and form posts whole; an upload is cut (its size and truncation are kept). */
    public static final int DEFAULT_MAX_BODY = 64 * 1024;

    /** Credentials, which a recording must never hold: the request's and the response's. */
    public static final List<String> DEFAULT_REDACT = List.of("authorization", "proxy-authorization", "cookie",
            "set-cookie");

    /** 64 MiB: a file a text editor and jq open at once; ~30,000 typical entries. */
    public static final long DEFAULT_ROTATE_SIZE = 64L * 1024 * 1024;

    /** 10: with the default size at most 640 MiB of recordings per directory. */
    public static final int DEFAULT_ROTATE_KEEP = 10;

    public RecordConfig {
        redact = redact.stream().map(n -> n.toLowerCase(Locale.ROOT)).distinct().toList();
        if (!(fraction >= 0 && fraction <= 1) || maxBody < 0 || rotateSize < 1 || rotateKeep < 1) {
            throw new IllegalArgumentException("record out of range: " + fraction + ", " + maxBody + ", " + rotateSize
                    + ", " + rotateKeep);
        }
    }

    /** With every default but the directory. */
    public static RecordConfig of(Path directory) {
        return new RecordConfig(directory, DEFAULT_FRACTION, DEFAULT_MAX_BODY, DEFAULT_REDACT, DEFAULT_ROTATE_SIZE,
                DEFAULT_ROTATE_KEEP);
    }
}
