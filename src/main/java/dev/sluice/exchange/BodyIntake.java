package dev.sluice.exchange;

import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;

/**
 * The body-intake step: each part of the client's body is counted against {@code max_body} (the
 * route's, else its listener's) and then sent on, or read and dropped when the route answers by
 * itself once the body has been read. Its answer for each part is a {@link Next}; the exchange
 * acts on it. Used on the request's loop only.
 */
final class BodyIntake {
    /** What becomes of one part of the body. */
    enum Next {
        /** Within the limit: on to the tap and the endpoint. */
        FORWARD,
        /** The body crossed {@code max_body}: the part is dropped and the request refused (or cut). */
        TOO_LARGE,
        /** The route answers by itself: the part is read and dropped. */
        DROP,
        /** The route answers by itself and this was the last part: answer now. */
        ANSWER
    }

    /** The route's {@code max_body}, else its listener's, or -1. */
    private long maxBody;
    private long bodyBytes;
    /** The route answers by itself once the request's end arrives; its body, if any, is read and dropped. */
    private boolean answeringLocally;

    BodyIntake(long listenerMaxBody) {
        this.maxBody = listenerMaxBody;
    }

    /**
     * The route's own limit, which overrides its listener's either way (nginx's
     * {@code client_max_body_size} in a location); returns whether {@code request}'s
     * Content-Length already exceeds the limit, so it is refused before a byte is read.
     */
    boolean routed(long routeMaxBody, HttpRequest request, boolean bodyless) {
        if (routeMaxBody >= 0) {
            maxBody = routeMaxBody;
        }
        return maxBody >= 0 && !bodyless && HttpUtil.getContentLength(request, -1L) > maxBody;
    }

    /** The route answers by itself: the body is read and dropped, and the answer waits for its end. */
    void answerOnceRead() {
        answeringLocally = true;
    }

    /** The body is read however fast it comes: it is dropped, not sent. */
    boolean draining() {
        return answeringLocally;
    }

    /** Counts {@code size} more bytes of the body, the last part if {@code last}, and says what becomes of them. */
    Next take(int size, boolean last) {
        bodyBytes += size;
        if (maxBody >= 0 && bodyBytes > maxBody) {
            return Next.TOO_LARGE;
        }
        if (answeringLocally) {
            return last ? Next.ANSWER : Next.DROP;
        }
        return Next.FORWARD;
    }
}
