package dev.sluice.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A gRPC server for tests on grpc-java (its shaded Netty, apart from Sluice's), with methods
 * whose messages are bytes, so no protoc is needed: {@code test.Echo/Unary} answers its request;
 * {@code test.Echo/Count} streams {@code N} messages ("1" … "N") for a request "N", then ends OK,
 * or, for "N!", ends with ABORTED and the trailer {@code x-counted: N}; {@code test.Echo/Fail}
 * answers NOT_FOUND with {@code x-order-id} in its trailers and no message (Trailers-Only);
 * {@code test.Echo/Hang} never answers. The
 * last call's request metadata and authority are kept.
 */
public final class GrpcEcho implements AutoCloseable {
    public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    public static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<byte[], byte[]> COUNT = method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
    public static final MethodDescriptor<byte[], byte[]> FAIL = method("Fail", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<byte[], byte[]> HANG = method("Hang", MethodDescriptor.MethodType.UNARY);
    public static final Metadata.Key<String> ORDER_ID = Metadata.Key.of("x-order-id", Metadata.ASCII_STRING_MARSHALLER);
    public static final Metadata.Key<String> COUNTED = Metadata.Key.of("x-counted", Metadata.ASCII_STRING_MARSHALLER);

    private final Server server;
    private final AtomicReference<Metadata> lastHeaders = new AtomicReference<>();
    private final AtomicReference<String> lastAuthority = new AtomicReference<>();
    private final AtomicInteger calls = new AtomicInteger();

    private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Echo", name))
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    private GrpcEcho(ServerCredentials credentials) throws IOException {
        ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
                .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, answer) -> {
                    answer.onNext(request);
                    answer.onCompleted();
                }))
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((request, answer) -> {
                    String text = new String(request, StandardCharsets.UTF_8);
                    boolean abort = text.endsWith("!");
                    int n = Integer.parseInt(abort ? text.substring(0, text.length() - 1) : text);
                    for (int i = 1; i <= n; i++) {
                        answer.onNext(String.valueOf(i).getBytes(StandardCharsets.UTF_8));
                    }
                    if (abort) {
                        Metadata trailers = new Metadata();
                        trailers.put(COUNTED, String.valueOf(n));
                        answer.onError(Status.ABORTED.withDescription("stopped after " + n).asRuntimeException(trailers));
                    } else {
                        answer.onCompleted();
                    }
                }))
                .addMethod(FAIL, ServerCalls.asyncUnaryCall((request, answer) -> {
                    Metadata trailers = new Metadata();
                    trailers.put(ORDER_ID, new String(request, StandardCharsets.UTF_8));
                    answer.onError(Status.NOT_FOUND.withDescription("no such order").asRuntimeException(trailers));
                }))
                .addMethod(HANG, ServerCalls.asyncUnaryCall((request, answer) -> { }))
                .build();
        ServerInterceptor recorder = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                              ServerCallHandler<Q, R> next) {
                calls.incrementAndGet();
                lastHeaders.set(headers);
                lastAuthority.set(call.getAuthority());
                return next.startCall(call, headers);
            }
        };
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        NettyServerBuilder builder = credentials == null ? NettyServerBuilder.forAddress(any)
                : NettyServerBuilder.forAddress(any, credentials);
        server = builder.addService(ServerInterceptors.intercept(service, recorder)).build().start();
    }

    /** Plaintext (h2c by prior knowledge). */
    public static GrpcEcho cleartext() throws IOException {
        return new GrpcEcho(null);
    }

    /** TLS (h2 by ALPN) with {@code credentials}. */
    public static GrpcEcho tls(ServerCredentials credentials) throws IOException {
        return new GrpcEcho(credentials);
    }

    public String authority() {
        return "127.0.0.1:" + server.getPort();
    }

    public Metadata lastHeaders() {
        return lastHeaders.get();
    }

    public String lastAuthority() {
        return lastAuthority.get();
    }

    public int calls() {
        return calls.get();
    }

    /** {@code test.Echo/Unary} of {@code text}, within 10 s. */
    public static String unary(Channel channel, String text) {
        return new String(ClientCalls.blockingUnaryCall(channel, UNARY, options(), text.getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8);
    }

    /** {@code test.Echo/Count} of {@code request}: the streamed messages as they come. */
    public static Iterator<byte[]> count(Channel channel, String request) {
        return ClientCalls.blockingServerStreamingCall(channel, COUNT, options(),
                request.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code test.Echo/Fail} for {@code orderId}. */
    public static byte[] fail(Channel channel, String orderId) {
        return ClientCalls.blockingUnaryCall(channel, FAIL, options(), orderId.getBytes(StandardCharsets.UTF_8));
    }

    private static CallOptions options() {
        return CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        try {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
