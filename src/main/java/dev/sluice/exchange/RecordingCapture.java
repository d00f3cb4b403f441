package dev.sluice.exchange;

import dev.sluice.config.RecordConfig;
import dev.sluice.http.HeaderBytes;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.observe.RequestLog;
import dev.sluice.record.RecordedExchange;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * One sampled exchange as it passes, on its event loop, taking only copies of bytes: the client's
 * field lines as they came, the first {@code max_body} bytes of its body, the response's field
 * lines as sent to the client, and its body (a short one, for the writer to hash; a long one is
 * hashed part by part as it passes, never kept). {@link #entry} hands them over as a
 * {@link RecordedExchange} once the exchange is over; the recorder's thread parses, redacts,
 * hashes and encodes them (docs/recording.md).
 */
final class RecordingCapture {
    /**
     * 16 KiB: a response body up to this is copied and hashed by the recorder's thread (one copy
     * costs the loop less than a digest's set-up and finish); a longer one is hashed here, part by
     * part, so the loop never holds more than this of a response.
     */
    static final int RESPONSE_KEPT = 16 * 1024;
    private static final byte[] EMPTY = new byte[0];

    private final RecordConfig config;
    private final String route;
    private final String method;
    private final boolean secure;
    private final String host;
    private final String target;
    private final String httpVersion;
    private final byte[] requestFields;
    private byte[] body = EMPTY;
    private int kept;
    private long bodySize;
    private boolean responded;
    private int status;
    private String statusText;
    private byte[] responseFields = EMPTY;
    private byte[] responseBody = EMPTY;
    private int responseKept;
    private MessageDigest sha256;
    private long responseBytes;
    /** {@link #entry} was taken: the recorder's thread reads the arrays from now on, so nothing more is written into them. */
    private boolean taken;

    RecordingCapture(RecordConfig config, String route, HttpRequest request, boolean secure, RequestLog log) {
        this.config = config;
        this.route = route;
        this.method = request.method().name();
        this.secure = secure;
        this.host = log.host();
        this.target = request.uri();
        this.httpVersion = request.protocolVersion().text();
        // Read before the request is prepared for forwarding: the client's fields, not Sluice's.
        this.requestFields = request instanceof ReceivedRequest r ? r.fieldLines() : HeaderBytes.lines(request.headers());
    }

    /** A part of the request body: counted, and kept while the entry holds less than {@code max_body}. */
    void requestPart(ByteBuf part) {
        if (taken) {
            return;
        }
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
        responseFields = head instanceof ReceivedResponse r ? r.fieldLines() : HeaderBytes.lines(head.headers());
    }

    /** A part of the response body, as it goes to the client: kept while the body is short, else hashed. */
    void responseBody(ByteBuf part) {
        int size = part.readableBytes();
        if (!responded || size == 0 || taken) {
            return;
        }
        responseBytes += size;
        if (sha256 == null && responseKept + size <= RESPONSE_KEPT) {
            if (responseKept + size > responseBody.length) {
                responseBody = Arrays.copyOf(responseBody, Math.min(RESPONSE_KEPT,
                        Math.max(responseKept + size, responseBody.length * 2)));
            }
            part.getBytes(part.readerIndex(), responseBody, responseKept, size);
            responseKept += size;
            return;
        }
        if (sha256 == null) {
            sha256 = sha256();
            sha256.update(responseBody, 0, responseKept);
            responseBody = null;
        }
        sha256.update(part.nioBuffer());
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
        taken = true;
        long done = log.doneNanos() != 0 ? log.doneNanos() : now;
        long received = log.receivedNanos();
        long sent = log.requestSentNanos() != 0 ? log.requestSentNanos() : received;
        long firstByte = log.firstByteNanos() != 0 ? log.firstByteNanos() : sent;
        boolean cut = responded && (log.failure() != null || log.clientAborted());
        int finalStatus = responded ? status : log.status();
        String text = responded ? statusText : HttpResponseStatus.valueOf(finalStatus).reasonPhrase();
        return new RecordedExchange(route, log.startEpochMillis(), done - received, method, secure, host,
                target, httpVersion, requestFields, body, kept, bodySize,
                finalStatus, text, responded ? responseFields : EMPTY, responded ? responseBytes : -1,
                sha256 == null ? responseBody : null, responseKept, sha256 == null ? null : sha256.digest(), cut,
                sent - received, firstByte - sent, done - firstByte,
                log.failure() == null ? null : log.failure().label());
    }

    RecordConfig config() {
        return config;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
