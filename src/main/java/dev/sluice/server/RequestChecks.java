package dev.sluice.server;

import dev.sluice.failure.FailureKind;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.Optional;

/**
 * The checks an HTTP/1.1 request head must pass before it goes anywhere: those the decoder
 * leaves to the server. A head that fails one is answered, never forwarded.
 */
final class RequestChecks {
    /** The answer: go on, or refuse with a kind. */
    sealed interface Verdict {
        record Accepted() implements Verdict {}

        record Refused(FailureKind kind) implements Verdict {}
    }

    static final Verdict ACCEPTED = new Verdict.Accepted();
    private static final Verdict BAD_REQUEST = new Verdict.Refused(FailureKind.BAD_REQUEST);
    private static final Verdict TOO_MANY_FIELDS = new Verdict.Refused(FailureKind.HEADERS_TOO_LARGE);

    private RequestChecks() {}

    /** What the decoder's failure means for the client: 414, 431 or 400. */
    static FailureKind rejectionKind(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return FailureKind.REQUEST_LINE_TOO_LONG;
        }
        if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
            return FailureKind.HEADERS_TOO_LARGE;
        }
        return FailureKind.BAD_REQUEST;
    }

    /** Checks a decoded head, given its number of fields and of Host fields. */
    static Verdict check(HttpRequest head, int fields, int hosts, int maxFields) {
        if (fields > maxFields) {
            return TOO_MANY_FIELDS;
        }
        HttpVersion version = head.protocolVersion();
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            return BAD_REQUEST;
        }
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, gets 400.
        if (hosts > 1 || hosts == 0 && HttpVersion.HTTP_1_1.equals(version)) {
            return BAD_REQUEST;
        }
        String uri = head.uri();
        // Origin form ("/path") or absolute form ("http://host/path"); Sluice is not a forward
        // proxy, so CONNECT's authority form is refused, and "*" only goes with OPTIONS.
        Optional<String> authority = absoluteFormAuthority(uri);
        boolean target = uri.startsWith("/")
                || authority.isPresent() && !authority.get().isEmpty() && authority.get().indexOf('@') < 0
                || uri.equals("*") && HttpMethod.OPTIONS.equals(head.method());
        if (!target || HttpMethod.CONNECT.equals(head.method())) {
            return BAD_REQUEST;
        }
        return ACCEPTED;
    }

    /**
     * The authority of an absolute-form target ({@code http://host:port/path}), which may be
     * empty; nothing for any other form. (A sender must not send userinfo in an http URI, RFC
     * 9110 §4.2.4: a target with one is refused by {@link #check}.)
     */
    static Optional<String> absoluteFormAuthority(String uri) {
        int start = uri.regionMatches(true, 0, "http://", 0, 7) ? 7 : uri.regionMatches(true, 0, "https://", 0, 8) ? 8 : -1;
        if (start < 0) {
            return Optional.empty();
        }
        int end = start;
        while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?' && uri.charAt(end) != '#') {
            end++;
        }
        return Optional.of(uri.substring(start, end));
    }
}
