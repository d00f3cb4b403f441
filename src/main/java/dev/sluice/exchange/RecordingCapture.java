package dev.sluice.exchange;

import dev.sluice.config.RecordConfig;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.observe.RequestLog;
import dev.sluice.record.HarLines;
import dev.sluice.record.RecordedExchange;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * One sampled exchange as it passes, on its event loop: the client's head as it came (less the
 * redacted fields), the first {@code max_body} bytes of its body, the response head as sent to the
 * client (less the redacted fields) and a SHA-256 of the response body as sent (hashed part by
 * part, never kept). {@link #entry} turns it into a {@link RecordedExchange} once the exchange is
 * over; the recorder's thread writes it.
 */
final class RecordingCapture {
    private final RecordConfig config;
    private final String route;
    private final String method;
    private final String url;
    private final String httpVersion;
    private final List<Map.Entry<String, String>> requestHeaders;
    private final TreeSet<String> redacted = new TreeSet<>();
    private byte[] body = EMPTY;
    private int kept;
    private long bodySize;
    private boolean responded;
    private int status;
    private String statusText;
    private List<Map.Entry<String, String>> responseHeaders = List.of();
    private MessageDigest sha256;
    private long responseBytes;

    private static final byte[] EMPTY = new byte[0];

    RecordingCapture(RecordConfig config, String route, HttpRequest request, boolean secure, RequestLog log) {
        this.config = config;
        this.route = route;
        this.method = request.method().name();
        this.url = HarLines.absoluteUrl(secure, log.host(), request.uri());
        this.httpVersion = request.protocolVersion().text();
        // Read before the request is prepared for forwarding: the client's fields, not Sluice's.
        this.requestHeaders = kept(request instanceof ReceivedRequest r ? r.fieldsCopy() : request.headers());
    }

    private List<Map.Entry<String, String>> kept(HttpHeaders headers) {
        List<Map.Entry<String, String>> kept = new ArrayList<>(headers.size());
        for (Map.Entry<String, String> h : headers) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (config.redact().contains(name)) {
                redacted.add(name);
            } else {
                kept.add(Map.entry(h.getKey(), h.getValue()));
            }
        }
        return kept;
    }

    /** A part of the request body: counted, and kept while the entry holds less than {@code max_body}. */
    void requestPart(ByteBuf part) {
        int size = part.readableBytes();
        bodySize += size;
        int take = (int) Math.min(size, (long) config.maxBody() - kept);
        if (take <= 0) {
            return;
        }
        if (kept + take > body.length) {
            body = Arrays.copyOf(body, Math.min(config.maxBody(), Math.max(kept + take, body.length * 2)));
        }
        part.getBytes(part.readerIndex(), body, kept, take);
        kept += take;
    }

    /** The response's head, as it goes to the client. */
    void responseHead(HttpResponse head) {
        responded = true;
        status = head.status().code();
        statusText = head.status().reasonPhrase();
        responseHeaders = kept(head instanceof ReceivedResponse r ? r.fieldsCopy() : head.headers());
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** A part of the response body, as it goes to the client: hashed, not kept. */
    void responseBody(ByteBuf part) {
        if (sha256 != null && part.isReadable()) {
            responseBytes += part.readableBytes();
            sha256.update(part.nioBuffer());
        }
    }

    /**
     * Whether the client left before any response reached it: nothing was answered, so there is
     * nothing to replay against (its 499 is the client's doing, not the backend's).
     */
    boolean abandoned(RequestLog log) {
        return !responded && log.clientAborted();
    }

    /** The entry, once the exchange is over; {@code log} says how it ended, {@code now} when. */
    RecordedExchange entry(RequestLog log, long now) {
        long done = log.doneNanos() != 0 ? log.doneNanos() : now;
        long received = log.receivedNanos();
        long sent = log.requestSentNanos() != 0 ? log.requestSentNanos() : received;
        long firstByte = log.firstByteNanos() != 0 ? log.firstByteNanos() : sent;
        boolean cut = responded && (log.failure() != null || log.clientAborted());
        int finalStatus = responded ? status : log.status();
        String text = responded ? statusText : HttpResponseStatus.valueOf(finalStatus).reasonPhrase();
        return new RecordedExchange(route, log.startEpochMillis(), millis(done - received), method, url, httpVersion,
                requestHeaders, kept == body.length ? body : Arrays.copyOf(body, kept), bodySize, bodySize > kept,
                finalStatus, text, responseHeaders, responded ? responseBytes : -1,
                responded ? HexFormat.of().formatHex(sha256.digest()) : null, cut, millis(sent - received),
                millis(firstByte - sent), millis(done - firstByte), List.copyOf(redacted),
                log.failure() == null ? null : log.failure().label());
    }

    RecordConfig config() {
        return config;
    }

    private static double millis(long nanos) {
        return Math.max(nanos, 0) / 1e6;
    }
}
