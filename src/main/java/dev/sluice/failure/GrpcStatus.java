package dev.sluice.failure;

import io.netty.util.AsciiString;

/**
 * The gRPC status a gRPC client gets when Sluice itself fails its call: a gRPC client reads
 * {@code grpc-status}, never an HTTP status or a body, so a 502 page would reach it as
 * {@code UNKNOWN} or {@code UNAVAILABLE} with the kind lost. One code per {@link FailureKind},
 * chosen by what the client should do about it: {@code UNAVAILABLE} (14) for what is worth trying
 * again (gRPC clients retry it), {@code DEADLINE_EXCEEDED} (4) for a timeout that spent the time,
 * {@code RESOURCE_EXHAUSTED} (8) for shedding and limits (not retried at once by clients, which
 * is the point), {@code PERMISSION_DENIED} (7) and {@code UNAUTHENTICATED} (16) for access,
 * {@code UNIMPLEMENTED} (12) for a method nothing routes (as gRPC maps an HTTP 404),
 * {@code INTERNAL} (13) for malformed messages either way (as gRPC maps an HTTP 400). An endpoint
 * that went away in the middle of its response ({@code response_truncated}) is {@code UNAVAILABLE},
 * as a client connected to it directly would report its connection lost; such a call has had its
 * response begun, so a client does not replay it by itself.
 */
public final class GrpcStatus {
    public static final AsciiString STATUS = AsciiString.cached("grpc-status");
    public static final AsciiString MESSAGE = AsciiString.cached("grpc-message");
    public static final AsciiString CONTENT_TYPE = AsciiString.cached("application/grpc");

    public static final int DEADLINE_EXCEEDED = 4;
    public static final int PERMISSION_DENIED = 7;
    public static final int RESOURCE_EXHAUSTED = 8;
    public static final int UNIMPLEMENTED = 12;
    public static final int INTERNAL = 13;
    public static final int UNAVAILABLE = 14;
    public static final int UNAUTHENTICATED = 16;

    private GrpcStatus() {}

    /** The gRPC status code for {@code kind}. */
    public static int of(FailureKind kind) {
        return switch (kind) {
            case NO_HEALTHY_ENDPOINT, CONNECT_REFUSED, CONNECT_TIMEOUT, UPSTREAM_TLS_FAILED, CONNECT_BACKLOG_FULL,
                 CLOSED_BEFORE_SEND, STREAM_REFUSED, RESET_BEFORE_RESPONSE, APP_STARTING_TIMEOUT, APP_CRASH_LOOP,
                 AUTH_UNAVAILABLE, AUTH_TIMEOUT, RESPONSE_TRUNCATED -> UNAVAILABLE;
            case RESPONSE_TIMEOUT, REQUEST_HEADER_TIMEOUT, REQUEST_BODY_TIMEOUT -> DEADLINE_EXCEEDED;
            case OVERLOADED, RATE_LIMITED, REQUEST_TOO_LARGE, HEADERS_TOO_LARGE -> RESOURCE_EXHAUSTED;
            case ACCESS_DENIED, AUTH_DENIED -> PERMISSION_DENIED;
            case UNAUTHENTICATED -> GrpcStatus.UNAUTHENTICATED;
            case NO_ROUTE, METHOD_NOT_ALLOWED -> UNIMPLEMENTED;
            case BAD_RESPONSE, BAD_REQUEST, REQUEST_LINE_TOO_LONG -> INTERNAL;
        };
    }

    /** Whether a request with this {@code content-type} is a gRPC call ({@code application/grpc}, {@code +proto}, ...). */
    public static boolean requested(CharSequence contentType) {
        return contentType != null && contentType.length() >= CONTENT_TYPE.length()
                && AsciiString.regionMatches(contentType, true, 0, CONTENT_TYPE, 0, CONTENT_TYPE.length());
    }

    /**
     * {@code grpc-message} for {@code kind}: its name, then what it means, percent-encoded as the
     * gRPC spec asks (bytes outside printable ASCII, and {@code %}).
     */
    public static String message(FailureKind kind) {
        String text = kind.label() + ": " + kind.explanation();
        StringBuilder encoded = new StringBuilder(text.length());
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            if (b >= 0x20 && b <= 0x7e && b != '%') {
                encoded.append((char) b);
            } else {
                encoded.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return encoded.toString();
    }
}
