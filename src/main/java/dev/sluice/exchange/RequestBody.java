package dev.sluice.exchange;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * A request's body on its way to an endpoint: the parts that arrived before there was somewhere
 * to write them, and copies of the parts written, kept so that a retry can send them again.
 *
 * <p>Made for every request and used by few (a GET has no body): the queues are made on first use.
 */
final class RequestBody {
    /**
     * 128 KiB of request body is kept for a possible retry: covers JSON and form posts. A larger
     * upload streams on without a copy, and is then no longer retryable (recorded in the log).
     */
    static final int REPLAY_LIMIT = 128 * 1024;

    /** Parts received and not yet written. */
    private ArrayDeque<HttpContent> held;
    /** Copies of the parts written, while the body fits {@link #REPLAY_LIMIT}. */
    private ArrayDeque<HttpContent> copies;
    /**
     * The body ended with an empty end marker, written but not copied: a bodyless GET would
     * otherwise make a copy queue for every request.
     */
    private boolean endsEmpty;
    private long copiedBytes;
    private boolean replayable = true;

    /** Keeps a part until there is a connection to write it to. */
    void hold(HttpContent part) {
        held().add(part);
    }

    private ArrayDeque<HttpContent> held() {
        if (held == null) {
            held = new ArrayDeque<>(2);
        }
        return held;
    }

    /** The oldest part held, or null when none is. */
    HttpContent nextHeld() {
        return held == null ? null : held.poll();
    }

    /** A part is being written: keeps a copy for a retry while the body still fits. */
    void sending(HttpContent part, boolean last) {
        if (!replayable) {
            return;
        }
        int size = part.content().readableBytes();
        if (last && size == 0 && ((LastHttpContent) part).trailingHeaders().isEmpty()) {
            endsEmpty = true;
        } else if (copiedBytes + size <= REPLAY_LIMIT) {
            copiedBytes += size;
            if (copies == null) {
                copies = new ArrayDeque<>(2);
            }
            copies.add(part.retainedDuplicate());
        } else {
            replayable = false;
            releaseAll(copies);
        }
    }

    /** Whether everything written so far could be written again. */
    boolean replayable() {
        return replayable;
    }

    /** For a retry: the parts already written go back in front of those still held, in order. */
    void rewind() {
        if (endsEmpty) {
            // Written last, so it goes in front of nothing: the copies go in front of it.
            endsEmpty = false;
            held().addFirst(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        HttpContent part;
        while (copies != null && (part = copies.pollLast()) != null) {
            held().addFirst(part);
        }
        copiedBytes = 0;
    }

    /** Frees every part held or copied: the request ended. */
    void release() {
        releaseAll(held);
        releaseAll(copies);
    }

    private static void releaseAll(ArrayDeque<?> queue) {
        if (queue == null) {
            return;
        }
        Object o;
        while ((o = queue.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }
}
