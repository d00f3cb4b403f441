package dev.sluice.record;

import java.util.List;
import java.util.Map;

/**
 * One exchange as a recording keeps it, made on the event loop when the exchange ended and
 * written as a HAR 1.2 entry by the recorder's thread ({@link HarLines}). Redacted fields are
 * already out of both header lists.
 *
 * @param route the route's name ({@code _route})
 * @param startedEpochMillis when the request's head arrived
 * @param timeMillis from the head's arrival to the response's end (or the exchange's)
 * @param url absolute: the scheme the client used, its {@code Host}, the target as it sent it
 * @param requestBody the body's first bytes (up to the route's {@code max_body}); empty for none
 * @param requestBodySize the whole body's size in bytes, as received
 * @param responseBodySize the body's size as sent to the client; -1 when Sluice answered
 * @param responseBodySha256 hex SHA-256 of the body as sent to the client; null when Sluice answered
 * @param responseBodyTruncated the response was cut short, so size and hash cover only what was sent
 * @param redacted the names of the fields left out of this entry, lower case
 * @param failure the failure kind Sluice answered or cut the response with (its access-log name); null for none
 */
public record RecordedExchange(String route, long startedEpochMillis, double timeMillis, String method, String url,
                               String httpVersion, List<Map.Entry<String, String>> requestHeaders, byte[] requestBody,
                               long requestBodySize, boolean requestBodyTruncated, int status, String statusText,
                               List<Map.Entry<String, String>> responseHeaders, long responseBodySize,
                               String responseBodySha256, boolean responseBodyTruncated, double sendMillis,
                               double waitMillis, double receiveMillis, List<String> redacted, String failure) {

    public RecordedExchange {
        requestHeaders = List.copyOf(requestHeaders);
        responseHeaders = List.copyOf(responseHeaders);
        redacted = List.copyOf(redacted);
    }
}
