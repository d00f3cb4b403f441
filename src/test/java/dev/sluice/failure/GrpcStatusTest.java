package dev.sluice.failure;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import org.junit.jupiter.api.Test;

/** The gRPC status of each failure kind, and the reply a gRPC call gets from Sluice. */
class GrpcStatusTest {

    @Test
    void whatIsWorthTryingAgainIsUnavailableAndTimeoutsAreDeadlineExceeded() {
        assertThat(GrpcStatus.of(FailureKind.NO_HEALTHY_ENDPOINT)).isEqualTo(14);
        assertThat(GrpcStatus.of(FailureKind.CONNECT_REFUSED)).isEqualTo(14);
        assertThat(GrpcStatus.of(FailureKind.STREAM_REFUSED)).isEqualTo(14);
        assertThat(GrpcStatus.of(FailureKind.RESET_BEFORE_RESPONSE)).isEqualTo(14);
        assertThat(GrpcStatus.of(FailureKind.RESPONSE_TRUNCATED)).as("the endpoint went away mid-response").isEqualTo(14);
        assertThat(GrpcStatus.of(FailureKind.RESPONSE_TIMEOUT)).isEqualTo(4);
    }

    @Test
    void sheddingIsResourceExhaustedAndAccessHasItsOwnCodes() {
        assertThat(GrpcStatus.of(FailureKind.OVERLOADED)).isEqualTo(8);
        assertThat(GrpcStatus.of(FailureKind.RATE_LIMITED)).isEqualTo(8);
        assertThat(GrpcStatus.of(FailureKind.ACCESS_DENIED)).isEqualTo(7);
        assertThat(GrpcStatus.of(FailureKind.UNAUTHENTICATED)).isEqualTo(16);
        assertThat(GrpcStatus.of(FailureKind.NO_ROUTE)).isEqualTo(12);
        assertThat(GrpcStatus.of(FailureKind.BAD_RESPONSE)).isEqualTo(13);
    }

    @Test
    void onlyGrpcContentTypesAreGrpcCalls() {
        assertThat(GrpcStatus.requested("application/grpc")).isTrue();
        assertThat(GrpcStatus.requested("application/grpc+proto")).isTrue();
        assertThat(GrpcStatus.requested("Application/GRPC")).isTrue();
        assertThat(GrpcStatus.requested("application/json")).isFalse();
        assertThat(GrpcStatus.requested("application/grp")).isFalse();
        assertThat(GrpcStatus.requested(null)).isFalse();
    }

    @Test
    void theMessageNamesTheKindAndIsPercentEncoded() {
        assertThat(GrpcStatus.message(FailureKind.CONNECT_REFUSED))
                .isEqualTo("connect_refused: nothing listens at the endpoint (the application is not running)");
        assertThat(GrpcStatus.message(FailureKind.values()[0])).matches("[\\x20-\\x7e]+");
    }

    @Test
    void theReplyIsATwoHundredWithTheStatusTheKindAndNoBody() {
        FullHttpResponse reply = LocalReply.grpc(UnpooledByteBufAllocator.DEFAULT, FailureKind.OVERLOADED,
                ReplyFields.NONE, true);
        try {
            assertThat(reply.status().code()).isEqualTo(200);
            assertThat(reply.headers().get("content-type")).isEqualTo("application/grpc");
            assertThat(reply.headers().get("grpc-status")).isEqualTo("8");
            assertThat(reply.headers().get("grpc-message")).startsWith("overloaded: ");
            assertThat(reply.headers().get("x-sluice-error")).isEqualTo("overloaded");
            assertThat(reply.headers().get("retry-after")).isEqualTo("1");
            assertThat(reply.content().readableBytes()).isZero();
        } finally {
            reply.release();
        }
    }
}
