package dev.sluice.exchange;

import dev.sluice.observe.RequestLog;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * What one exchange sends to its route's taps: a mirror copy, a recording, both, or neither
 * ({@link #NONE}, the exchange of a route without taps or a request not sampled). The exchange
 * calls it at five points: every body part, when the request is admitted and forwarded, the
 * response's head and body parts as sent to the client, and the end. Nothing here can fail,
 * slow or hold the request: the mirror copy and the recording only take what passes. A recording
 * is finished when the exchange's request log is ({@link #run}, {@link RequestLog#whenFinished}).
 */
final class Tap implements Runnable {
    static final Tap NONE = new Tap(null, null, null, null, null, null);

    private final ExchangeContext context;
    private final Taps taps;
    private final RouteTaps counts;
    private final RequestLog log;
    private final MirrorCopy mirror;
    private final RecordingCapture recording;

    Tap(ExchangeContext context, Taps taps, RouteTaps counts, RequestLog log, MirrorCopy mirror,
        RecordingCapture recording) {
        this.context = context;
        this.taps = taps;
        this.counts = counts;
        this.log = log;
        this.mirror = mirror;
        this.recording = recording;
        if (recording != null) {
            log.whenFinished(this);
        }
    }

    /** A part of the client's body, before it is handed to the send step (which keeps ownership). */
    void requestContent(HttpContent part, boolean last) {
        if (mirror != null) {
            mirror.part(part, last);
        }
        if (recording != null) {
            recording.requestPart(part.content());
        }
    }

    /** The request was admitted and prepared: the mirror's copy goes out with the head as forwarded. */
    void forwarded(HttpRequest request, long now) {
        if (mirror != null) {
            mirror.start(request, now);
        }
    }

    void responseHead(HttpResponse head) {
        if (recording != null) {
            recording.responseHead(head);
        }
    }

    void responseBody(ByteBuf part) {
        if (recording != null) {
            recording.responseBody(part);
        }
    }

    /** The exchange ended: the mirror's copy may go on alone. */
    void ended() {
        if (mirror != null) {
            mirror.primaryEnded();
        }
    }

    /**
     * The exchange is over and its request log says how ({@code status}, failure, end time): the
     * recording is handed to the recorder. Runs once, on the exchange's loop, where the access log
     * line is written; nothing the exchange passes after this reaches the entry.
     */
    @Override
    public void run() {
        taps.record(recording, counts, log, context.nanoTime());
    }
}
