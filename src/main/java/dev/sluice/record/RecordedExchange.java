package dev.sluice.record;

/**
 * One exchange as a recording takes it, made on the event loop when the exchange ended and
 * written as a HAR 1.2 entry by the recorder's thread ({@link HarEntryEncoder}). It holds what the
 * loop had, as it had it: the heads as their field lines' bytes, the body as the first bytes
 * received, times as nanoseconds. Everything that costs (parsing the field lines, leaving out the
 * redacted ones, decoding, hashing a short body, formatting) is the writer's, off the loop.
 *
 * <p>Field lines are {@code name: value CRLF} each, the bytes of the head (values are ISO-8859-1,
 * one char per byte, as Sluice reads and sends them). They still hold the fields the route
 * redacts: the encoder leaves those out, so they never reach a file.
 *
 * @param route the route's name ({@code _route})
 * @param startedEpochMillis when the request's head arrived
 * @param timeNanos from the head's arrival to the response's end (or the exchange's)
 * @param secure the client came over TLS (the URL's scheme)
 * @param host the request's {@code Host}; null or empty for none
 * @param target the request target as the client sent it
 * @param requestFields the client's field lines, as they came
 * @param requestBody the body's first {@code requestBodyKept} bytes (up to the route's {@code max_body})
 * @param requestBodySize the whole body's size in bytes, as received
 * @param status the status the client got
 * @param responseFields the response's field lines as sent to the client; empty when Sluice answered
 * @param responseBodySize the body's size as sent to the client; -1 when Sluice answered
 * @param responseBody the whole body as sent, its first {@code responseBodyKept} bytes, when the
 *     loop kept it (a short one) for the writer to hash; null when the loop hashed it
 * @param responseBodySha256 the body's SHA-256 when the loop hashed it (a long one); else null
 * @param responseBodyTruncated the response was cut short, so size and hash cover only what was sent
 * @param failure the failure kind Sluice answered or cut the response with (its access-log name); null for none
 */
public record RecordedExchange(String route, long startedEpochMillis, long timeNanos, String method, boolean secure,
                               String host, String target, String httpVersion, byte[] requestFields,
                               byte[] requestBody, int requestBodyKept, long requestBodySize, int status,
                               String statusText, byte[] responseFields, long responseBodySize, byte[] responseBody,
                               int responseBodyKept, byte[] responseBodySha256, boolean responseBodyTruncated,
                               long sendNanos, long waitNanos, long receiveNanos, String failure) {

    /** Whether the backend's response reached the client (else Sluice answered, and there is no body to hash). */
    public boolean responded() {
        return responseBodySize >= 0;
    }
}
