package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.testing.Await;
import dev.sluice.testing.GrpcEcho;
import dev.sluice.testing.H2Backend;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gRPC server-streaming call whose backend cuts its response after three messages (an HTTP/2
 * backend writing gRPC's framing by hand, {@link H2Backend}'s {@code /test.Cut/*}), through Sluice
 * to a grpc-java client: the client gets the three messages, then the call ends with the status
 * of {@code response_truncated} (UNAVAILABLE, the kind in its description and in
 * {@code x-sluice-error}), in trailers Sluice sends instead of resetting the stream; the access
 * log has the backend's 200 and the failure.
 */
class GrpcCutResponseTest {
    private static final Metadata.Key<String> SLUICE_ERROR =
            Metadata.Key.of("x-sluice-error", Metadata.ASCII_STRING_MARSHALLER);
    static H2Backend backend;
    static TestGateway gateway;
    static ManagedChannel client;

    @BeforeAll
    static void start() throws Exception {
        backend = H2Backend.cleartext();
        gateway = TestGateway.fromYaml(H2cTarget.yaml("", backend.authority(), "protocol: h2c"));
        client = NettyChannelBuilder.forAddress(gateway.address()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        client.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        gateway.close();
        backend.close();
    }

    @Test
    void aBackendThatDiesAfterThreeMessagesEndsTheCallUnavailableNamingTheKind() {
        assertCutAfterThreeMessages("Close");
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/test.Cut/Close\"")
                        .contains("\"status\":200").contains("\"failure\":\"response_truncated\"")));
    }

    @Test
    void aBackendThatDiesInTheMiddleOfAMessageEndsTheCallTheSameWayWithoutThePartialMessage() {
        assertCutAfterThreeMessages("Mid");
    }

    @Test
    void aStreamTheBackendResetsEndsTheCallTheSameWay() {
        assertCutAfterThreeMessages("Reset");
    }

    private static void assertCutAfterThreeMessages(String how) {
        MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Cut", how))
                .setRequestMarshaller(GrpcEcho.BYTES).setResponseMarshaller(GrpcEcho.BYTES).build();
        Iterator<byte[]> messages = ClientCalls.blockingServerStreamingCall(client, method,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {1});
        List<String> got = new ArrayList<>();
        assertThatThrownBy(() -> messages.forEachRemaining(m -> got.add(new String(m, StandardCharsets.UTF_8))))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).as(how).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).as(how).startsWith("response_truncated: ");
                    assertThat(e.getTrailers().get(SLUICE_ERROR)).as(how).isEqualTo("response_truncated");
                });
        assertThat(got).as(how).containsExactly("1", "2", "3");
    }
}
