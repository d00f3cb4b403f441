package dev.sluice.upstream;

import dev.sluice.config.HealthCheckConfig;
import dev.sluice.upstream.HealthChecker.Outcome;
import dev.sluice.upstream.HealthChecker.Verdict;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * gRPC's health checking protocol ({@code grpc.health.v1.Health/Check}, grpc/grpc
 * doc/health-checking.md) as Envoy's gRPC health checker speaks it: the request Sluice sends and
 * how it reads the answer. Both messages are a few bytes, so they are encoded here by hand
 * rather than through protobuf's runtime.
 *
 * <p>On the wire (gRPC over HTTP/2, grpc/grpc doc/PROTOCOL-HTTP2.md) a message is a
 * Length-Prefixed-Message: one byte, 0 for uncompressed; four bytes, the message's length, big
 * endian; then the message's protobuf bytes.
 * <pre>
 * message HealthCheckRequest  { string service = 1; }
 * message HealthCheckResponse { enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2;
 *                                                    SERVICE_UNKNOWN = 3; }
 *                               ServingStatus status = 1; }
 * </pre>
 * The request's one field is length-delimited: the tag byte {@code 0x0A} (field 1 shifted left 3,
 * wire type 2), the UTF-8 length as a varint, the bytes. Proto3 leaves a default value out, so
 * the request for the server as a whole ({@code ""}) is the empty message: the five bytes
 * {@code 00 00 00 00 00}. For the service {@code "shop"}: {@code 00 00 00 00 06 0A 04 73 68 6F 70}.
 * The answer's status is a varint field: the tag byte {@code 0x08} (field 1, wire type 0) and the
 * value, so {@code SERVING} is {@code 08 01}; an answer without the field says {@code UNKNOWN}.
 */
final class GrpcHealth {
    static final int SERVING = 1;
    private static final String[] STATUS_NAMES = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    /** grpc-status 5: the health service does not know the service asked about (health-checking.md). */
    private static final String NOT_FOUND = "5";

    private GrpcHealth() {
    }

    /**
     * The {@code Health/Check} call for {@code config}'s service: a POST with
     * {@code content-type: application/grpc} (the HTTP/2 stream codec adds {@code te: trailers},
     * which gRPC servers require). Its {@code Host} ({@code :authority}) is the caller's to set.
     */
    static FullHttpRequest request(HealthCheckConfig config, ByteBufAllocator alloc) {
        byte[] service = config.grpcService().orElse("").getBytes(StandardCharsets.UTF_8);
        ByteBuf body = alloc.buffer(5 + 1 + 5 + service.length);
        int messageLength = service.length == 0 ? 0 : 1 + varintSize(service.length) + service.length;
        body.writeByte(0).writeInt(messageLength);
        if (service.length > 0) {
            body.writeByte(0x0A);
            writeVarint(body, service.length);
            body.writeBytes(service);
        }
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                HealthCheckConfig.GRPC_PATH, body);
        request.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
        return request;
    }

    /**
     * Judges an answer as Envoy does: HTTP 200 with a gRPC content type, {@code grpc-status: 0}
     * (in the trailers, or in the head of a Trailers-Only answer) and a message whose status is
     * {@code SERVING}. {@code expect.headers} are identity as for an HTTP check; so is the server's
     * saying it does not know the service named ({@code NOT_FOUND}): another service answers
     * at that address.
     */
    static Verdict judge(HealthCheckConfig config, FullHttpResponse response) {
        String call = "Health/Check of '" + config.grpcService().orElse("") + "'";
        int status = response.status().code();
        String contentType = response.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        if (status != 200 || !contentType.startsWith("application/grpc")) {
            return new Verdict(Outcome.FAIL, call + " answered HTTP " + status + " (" + contentType + "), not gRPC");
        }
        for (Map.Entry<String, String> expected : config.expectedHeaders().entrySet()) {
            if (!expected.getValue().equals(response.headers().get(expected.getKey()))) {
                return new Verdict(Outcome.WRONG_IDENTITY, call + " answered without " + expected.getKey() + ": "
                        + expected.getValue());
            }
        }
        String grpcStatus = response.trailingHeaders().get("grpc-status", response.headers().get("grpc-status"));
        if (grpcStatus == null) {
            return new Verdict(Outcome.FAIL, call + " answered no grpc-status");
        }
        if (!grpcStatus.equals("0")) {
            String message = response.trailingHeaders().get("grpc-message", response.headers().get("grpc-message", ""));
            boolean unknownService = grpcStatus.equals(NOT_FOUND) && !config.grpcService().orElse("").isEmpty();
            return new Verdict(unknownService ? Outcome.WRONG_IDENTITY : Outcome.FAIL,
                    call + " answered grpc-status " + grpcStatus + (message.isEmpty() ? "" : " (" + message + ")"));
        }
        int serving = servingStatus(response.content());
        if (serving == SERVING) {
            return new Verdict(Outcome.PASS, call + " answered SERVING");
        }
        return new Verdict(Outcome.FAIL, call + " answered " + (serving < 0 ? "a malformed message"
                : serving < STATUS_NAMES.length ? STATUS_NAMES[serving] : "status " + serving));
    }

    /**
     * The status of the one uncompressed {@code HealthCheckResponse} in {@code body}; -1 when the
     * body is not exactly that (Sluice asks for no compression: it sends no {@code grpc-accept-encoding}).
     * Fields other than 1 are skipped, as protobuf readers do; of field 1 written twice the last counts.
     */
    static int servingStatus(ByteBuf body) {
        ByteBuf in = body.duplicate();
        if (in.readableBytes() < 5 || in.readByte() != 0) {
            return -1;
        }
        long length = in.readUnsignedInt();
        if (length != in.readableBytes()) {
            return -1;
        }
        int status = 0;
        while (in.isReadable()) {
            long tag = readVarint(in);
            if (tag < 0) {
                return -1;
            }
            long value;
            switch ((int) (tag & 7)) {
                case 0 -> value = readVarint(in);
                case 1 -> value = skip(in, 8);
                case 2 -> {
                    long size = readVarint(in);
                    value = size < 0 ? -1 : skip(in, size);
                }
                case 5 -> value = skip(in, 4);
                default -> value = -1;
            }
            if (value < 0) {
                return -1;
            }
            if (tag == 0x08) {
                status = (int) Math.min(value, Integer.MAX_VALUE);
            }
        }
        return status;
    }

    private static long skip(ByteBuf in, long count) {
        if (count > in.readableBytes()) {
            return -1;
        }
        in.skipBytes((int) count);
        return 0;
    }

    /** A base-128 varint, low groups first; -1 when it runs past the end or past 64 bits. */
    private static long readVarint(ByteBuf in) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!in.isReadable()) {
                return -1;
            }
            byte b = in.readByte();
            value |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return value < 0 ? -1 : value;
            }
        }
        return -1;
    }

    private static void writeVarint(ByteBuf out, int value) {
        while ((value & ~0x7F) != 0) {
            out.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.writeByte(value);
    }

    private static int varintSize(int value) {
        int size = 1;
        while ((value & ~0x7F) != 0) {
            size++;
            value >>>= 7;
        }
        return size;
    }
}
