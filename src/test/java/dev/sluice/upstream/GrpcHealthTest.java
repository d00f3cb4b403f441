package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HealthCheckConfig;
import dev.sluice.upstream.HealthChecker.Outcome;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The gRPC health check's hand-encoded messages, read back by protobuf's generated classes
 * (grpc-services' {@code grpc.health.v1}), and the judgement of answers as a gRPC server sends them.
 */
class GrpcHealthTest {
    private static HealthCheckConfig grpc(String service, Map<String, String> expectedHeaders) {
        return new HealthCheckConfig(HealthCheckConfig.GRPC_PATH, Optional.empty(), Duration.ofSeconds(1),
                Duration.ofSeconds(1), 2, 3, 200, 399, expectedHeaders, Optional.empty(), Optional.of(service));
    }

    private static byte[] requestBody(String service) {
        FullHttpRequest request = GrpcHealth.request(grpc(service, Map.of()), UnpooledByteBufAllocator.DEFAULT);
        try {
            assertThat(request.method().name()).isEqualTo("POST");
            assertThat(request.uri()).isEqualTo("/grpc.health.v1.Health/Check");
            assertThat(request.headers().get("content-type")).isEqualTo("application/grpc");
            return ByteBufUtil.getBytes(request.content());
        } finally {
            request.release();
        }
    }

    private static ByteBuf framed(byte[] message) {
        return Unpooled.buffer().writeByte(0).writeInt(message.length).writeBytes(message);
    }

    private static FullHttpResponse answer(ByteBuf body, String grpcStatus) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
        response.headers().set("content-type", "application/grpc");
        if (grpcStatus != null) {
            response.trailingHeaders().set("grpc-status", grpcStatus);
        }
        return response;
    }

    private static FullHttpResponse serving(ServingStatus status) {
        return answer(framed(HealthCheckResponse.newBuilder().setStatus(status).build().toByteArray()), "0");
    }

    /** The verdict on {@code response}, which is released. */
    private static HealthChecker.Verdict judged(HealthCheckConfig config, FullHttpResponse response) {
        try {
            return GrpcHealth.judge(config, response);
        } finally {
            response.release();
        }
    }

    @Test
    void theRequestForTheWholeServerIsAnEmptyMessage() {
        assertThat(requestBody("")).containsExactly(0, 0, 0, 0, 0);
    }

    @Test
    void theRequestNamesItsServiceAsProtobufWouldAndProtobufReadsIt() throws Exception {
        byte[] shop = requestBody("shop");
        assertThat(shop).containsExactly(0, 0, 0, 0, 6, 0x0A, 4, 's', 'h', 'o', 'p');
        String longName = "a.very.long.package.name.of.a.service.v1.".repeat(4) + "Orders";
        byte[] framedLong = requestBody(longName);
        byte[] message = java.util.Arrays.copyOfRange(framedLong, 5, framedLong.length);
        assertThat(Unpooled.wrappedBuffer(framedLong).getInt(1)).isEqualTo(message.length);
        assertThat(message).isEqualTo(HealthCheckRequest.newBuilder().setService(longName).build().toByteArray());
        assertThat(HealthCheckRequest.parseFrom(message).getService()).isEqualTo(longName);
    }

    @Test
    void onlyServingWithGrpcStatusZeroPasses() {
        HealthCheckConfig config = grpc("shop", Map.of());
        assertThat(judged(config, serving(ServingStatus.SERVING)).outcome()).isEqualTo(Outcome.PASS);
        assertThat(judged(config, serving(ServingStatus.NOT_SERVING)))
                .isEqualTo(new HealthChecker.Verdict(Outcome.FAIL, "Health/Check of 'shop' answered NOT_SERVING"));
        // UNKNOWN is proto3's default, so its message is empty.
        assertThat(judged(config, serving(ServingStatus.UNKNOWN)).detail()).endsWith("answered UNKNOWN");
        assertThat(judged(config, answer(Unpooled.EMPTY_BUFFER, "14")).detail())
                .isEqualTo("Health/Check of 'shop' answered grpc-status 14");
        assertThat(judged(config, answer(Unpooled.EMPTY_BUFFER, null)).outcome()).isEqualTo(Outcome.FAIL);
    }

    @Test
    void aTrailersOnlyAnswerIsReadFromItsHead() {
        FullHttpResponse unimplemented = answer(Unpooled.EMPTY_BUFFER, null);
        unimplemented.headers().set("grpc-status", "12").set("grpc-message", "Method not found");
        assertThat(judged(grpc("", Map.of()), unimplemented)).isEqualTo(new HealthChecker.Verdict(Outcome.FAIL,
                "Health/Check of '' answered grpc-status 12 (Method not found)"));
    }

    @Test
    void aServerThatDoesNotKnowTheNamedServiceIsAnotherService() {
        FullHttpResponse notFound = answer(Unpooled.EMPTY_BUFFER, null);
        notFound.headers().set("grpc-status", "5");
        assertThat(judged(grpc("", Map.of()), notFound.retainedDuplicate()).outcome()).isEqualTo(Outcome.FAIL);
        assertThat(judged(grpc("shop", Map.of()), notFound).outcome()).isEqualTo(Outcome.WRONG_IDENTITY);
        FullHttpResponse servingWithoutTheHeader = serving(ServingStatus.SERVING);
        assertThat(judged(grpc("shop", Map.of("x-service", "shop")), servingWithoutTheHeader).outcome())
                .isEqualTo(Outcome.WRONG_IDENTITY);
    }

    @Test
    void anAnswerThatIsNotGrpcFails() {
        FullHttpResponse page = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.copiedBuffer(new byte[] {'o', 'k'}));
        page.headers().set("content-type", "text/plain");
        assertThat(judged(grpc("", Map.of()), page)).isEqualTo(new HealthChecker.Verdict(Outcome.FAIL,
                "Health/Check of '' answered HTTP 200 (text/plain), not gRPC"));
    }

    @Test
    void otherFieldsAreSkippedAndMalformedMessagesAreNotServing() {
        // Field 2 (a string "x") and field 3 (a fixed32) around field 1 = SERVING.
        byte[] extra = {0x12, 1, 'x', 0x08, 1, 0x1D, 1, 2, 3, 4};
        assertThat(GrpcHealth.servingStatus(framed(extra))).isEqualTo(GrpcHealth.SERVING);
        assertThat(GrpcHealth.servingStatus(framed(new byte[] {0x08}))).isEqualTo(-1);
        assertThat(GrpcHealth.servingStatus(framed(new byte[] {0x12, 9, 'x'}))).isEqualTo(-1);
        assertThat(GrpcHealth.servingStatus(Unpooled.buffer().writeByte(1).writeInt(2).writeByte(0x08).writeByte(1)))
                .as("compressed").isEqualTo(-1);
        assertThat(GrpcHealth.servingStatus(Unpooled.buffer().writeByte(0).writeInt(5).writeByte(0x08).writeByte(1)))
                .as("shorter than its prefix says").isEqualTo(-1);
        assertThat(GrpcHealth.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0}))).isEqualTo(-1);
    }
}
