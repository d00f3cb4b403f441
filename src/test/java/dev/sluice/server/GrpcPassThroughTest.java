package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.testing.Await;
import dev.sluice.testing.GrpcEcho;
import dev.sluice.testing.Ports;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestCertificates;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC through Sluice on real sockets, grpc-java at both ends: a client over h2c (prior
 * knowledge) or over TLS (h2 by ALPN) → Sluice → a gRPC server over h2c ({@code protocol: h2c})
 * or TLS ({@code protocol: h2}). Unary and server-streaming calls pass unchanged, their
 * trailers ({@code grpc-status}, {@code grpc-message}, the server's own metadata) intact, whether
 * after messages or alone (Trailers-Only); the client's metadata reaches the server.
 */
class GrpcPassThroughTest {
    @TempDir
    static Path dir;
    static TestCertificates ca;
    static GrpcEcho plainBackend;
    static GrpcEcho tlsBackend;
    static TestGateway gateway;
    static ManagedChannel h2c;
    static ManagedChannel tls;
    static ManagedChannel tlsToTlsBackend;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.authority();
        Path caFile = ca.writeCa(dir.resolve("ca.pem"));
        ca.issue("grpc.test", "secure.grpc.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        ca.issue("backend.internal").writeTo(dir.resolve("backend-cert.pem"), dir.resolve("backend-key.pem"));
        plainBackend = GrpcEcho.cleartext();
        tlsBackend = GrpcEcho.tls(TlsServerCredentials.create(dir.resolve("backend-cert.pem").toFile(),
                dir.resolve("backend-key.pem").toFile()));
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    name: plain
                    http2: { h2c: true }
                  - address: 127.0.0.1:0
                    name: secure
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }
                routes:
                  - match: { host: secure.grpc.test, path_prefix: / }
                    cluster: grpc-tls
                  - match: { host: dead.grpc.test, path_prefix: / }
                    cluster: dead
                  - match: { path: /test.Echo/Hang }
                    cluster: grpc
                    timeout: 300ms
                  - match: { path_prefix: / }
                    cluster: grpc
                clusters:
                  - name: grpc
                    endpoints: [%2$s]
                    protocol: h2c
                  - name: grpc-tls
                    endpoints: [%3$s]
                    protocol: h2
                    tls: { ca: %1$s/ca.pem, sni: backend.internal }
                  - name: dead
                    endpoints: [127.0.0.1:%4$d]
                    protocol: h2c
                """.formatted(dir, plainBackend.authority(), tlsBackend.authority(), Ports.freeLoopbackPort()));
        InetSocketAddress plainListener = gateway.gateway().boundAddresses().get(0);
        InetSocketAddress tlsListener = gateway.gateway().boundAddresses().get(1);
        h2c = NettyChannelBuilder.forAddress(plainListener).usePlaintext().build();
        tls = NettyChannelBuilder.forAddress(tlsListener,
                        TlsChannelCredentials.newBuilder().trustManager(caFile.toFile()).build())
                .overrideAuthority("grpc.test").build();
        // Its calls' :authority is the one the route to the TLS backend matches.
        tlsToTlsBackend = NettyChannelBuilder.forAddress(tlsListener,
                        TlsChannelCredentials.newBuilder().trustManager(caFile.toFile()).build())
                .overrideAuthority("secure.grpc.test").build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h2c == null) {
            return;
        }
        h2c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        tls.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        tlsToTlsBackend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        gateway.close();
        plainBackend.close();
        tlsBackend.close();
    }

    private static List<String> all(Iterator<byte[]> messages) {
        List<String> texts = new ArrayList<>();
        messages.forEachRemaining(m -> texts.add(new String(m, StandardCharsets.UTF_8)));
        return texts;
    }

    @Test
    void aUnaryCallPassesThroughWithTheClientsMetadata() {
        Metadata extra = new Metadata();
        extra.put(Metadata.Key.of("x-tenant", Metadata.ASCII_STRING_MARSHALLER), "acme");
        Channel withTenant = ClientInterceptors.intercept(h2c, MetadataUtils.newAttachHeadersInterceptor(extra));
        assertThat(GrpcEcho.unary(withTenant, "hello")).isEqualTo("hello");
        Metadata seen = plainBackend.lastHeaders();
        assertThat(seen.get(Metadata.Key.of("x-tenant", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("acme");
        assertThat(seen.get(Metadata.Key.of("content-type", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("application/grpc");
        assertThat(plainBackend.lastAuthority()).isEqualTo("127.0.0.1:" + gateway.gateway().boundAddresses().get(0).getPort());
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/test.Echo/Unary\"")
                        .contains("\"protocol\":\"HTTP/2.0\"").contains("\"status\":200")));
    }

    @Test
    void aServerStreamingCallPassesEveryMessageAndEndsOk() {
        assertThat(all(GrpcEcho.count(h2c, "5"))).containsExactly("1", "2", "3", "4", "5");
    }

    @Test
    void trailersAfterMessagesArriveIntact() {
        Iterator<byte[]> messages = GrpcEcho.count(h2c, "3!");
        List<String> got = new ArrayList<>();
        assertThatThrownBy(() -> messages.forEachRemaining(m -> got.add(new String(m, StandardCharsets.UTF_8))))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ABORTED);
                    assertThat(e.getStatus().getDescription()).isEqualTo("stopped after 3");
                    assertThat(e.getTrailers().get(GrpcEcho.COUNTED)).isEqualTo("3");
                });
        assertThat(got).containsExactly("1", "2", "3");
    }

    @Test
    void aTrailersOnlyAnswerArrivesIntact() {
        assertThatThrownBy(() -> GrpcEcho.fail(h2c, "o-17"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("no such order");
                    assertThat(e.getTrailers().get(GrpcEcho.ORDER_ID)).isEqualTo("o-17");
                });
    }

    @Test
    void largeMessagesStreamBothWaysUnderFlowControl() {
        byte[] big = new byte[3 * 1024 * 1024 + 7];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31 + (i >>> 11));
        }
        byte[] back = ClientCalls.blockingUnaryCall(h2c, GrpcEcho.UNARY,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), big);
        assertThat(Arrays.equals(back, big)).isTrue();
    }

    @Test
    void manyCallsAtOnceShareTheBackendConnection() throws Exception {
        List<com.google.common.util.concurrent.ListenableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(ClientCalls.futureUnaryCall(h2c.newCall(GrpcEcho.UNARY,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
                    ("call-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        for (int i = 0; i < calls.size(); i++) {
            assertThat(new String(calls.get(i).get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8)).isEqualTo("call-" + i);
        }
    }

    @Test
    void overTlsBothWaysUnaryStreamingAndTrailersPassThrough() {
        assertThat(GrpcEcho.unary(tls, "secure hello")).isEqualTo("secure hello");
        assertThat(tlsBackend.calls()).isEqualTo(0);
        Channel secure = tlsToTlsBackend;
        assertThat(GrpcEcho.unary(secure, "secure hello")).isEqualTo("secure hello");
        assertThat(tlsBackend.calls()).isEqualTo(1);
        assertThat(all(GrpcEcho.count(secure, "4"))).containsExactly("1", "2", "3", "4");
        assertThatThrownBy(() -> GrpcEcho.fail(secure, "o-9"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getTrailers().get(GrpcEcho.ORDER_ID)).isEqualTo("o-9");
                });
    }

    private static final Metadata.Key<String> SLUICE_ERROR = Metadata.Key.of("x-sluice-error", Metadata.ASCII_STRING_MARSHALLER);

    @Test
    void aCallToAClusterNobodyListensAtIsUnavailableNamingTheKind() throws Exception {
        ManagedChannel dead = NettyChannelBuilder.forAddress(gateway.gateway().boundAddresses().get(0)).usePlaintext()
                .overrideAuthority("dead.grpc.test").build();
        try {
            assertThatThrownBy(() -> GrpcEcho.unary(dead, "anyone?"))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                        assertThat(e.getStatus().getDescription()).startsWith("connect_refused: ");
                        assertThat(e.getTrailers().get(SLUICE_ERROR)).isEqualTo("connect_refused");
                    });
            assertThatThrownBy(() -> GrpcEcho.count(dead, "3").hasNext())
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            dead.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"host\":\"dead.grpc.test\"")
                        .contains("\"failure\":\"connect_refused\"").contains("\"status\":200")));
    }

    @Test
    void aCallPastTheRoutesTimeoutIsDeadlineExceededNamingTheKind() {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(h2c, GrpcEcho.HANG,
                        io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {1}))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                    assertThat(e.getStatus().getDescription()).startsWith("response_timeout: ");
                    assertThat(e.getTrailers().get(SLUICE_ERROR)).isEqualTo("response_timeout");
                });
    }

    @Test
    void aGrpcRequestOverHttp11GetsItsStatusInTheHead() {
        try (RawHttpClient client = RawHttpClient.connect(gateway.gateway().boundAddresses().get(0))) {
            RawResponse r = client.send("POST /test.Echo/Unary HTTP/1.1\r\nHost: dead.grpc.test\r\n"
                    + "Content-Type: application/grpc+proto\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0")
                    .readResponse(Duration.ofSeconds(10));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("content-type")).isEqualTo("application/grpc");
            assertThat(r.header("grpc-status")).isEqualTo("14");
            assertThat(r.header("grpc-message")).startsWith("connect_refused: ");
            assertThat(r.header("x-sluice-error")).isEqualTo("connect_refused");
            assertThat(r.body()).isEmpty();
        }
    }
}
