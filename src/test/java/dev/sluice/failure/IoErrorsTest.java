package dev.sluice.failure;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What an operator reads of real failures of Netty's native transport (the one Sluice runs on Linux). */
class IoErrorsTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        Epoll.ensureAvailability();
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aRefusedConnectionSaysConnectionRefusedWithoutTheNativeCall() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        ChannelFuture connect = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("127.0.0.1", closed)).awaitUninterruptibly();

        assertThat(connect.cause().getMessage()).as("what Netty says").contains("failed with error(");
        assertThat(IoErrors.describe(connect.cause())).startsWith("connection refused");
    }

    @Test
    void aBusyPortSaysAddressAlreadyInUse() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ChannelFuture bind = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter())
                    .bind(new InetSocketAddress("127.0.0.1", busy.getLocalPort())).awaitUninterruptibly();

            assertThat(IoErrors.describe(bind.cause())).isEqualTo("address already in use");
        }
    }

    @Test
    void aPlainMessageIsKeptAndNoMessageNamesTheFailure() {
        assertThat(IoErrors.describe(new java.io.IOException("Connection reset by peer"))).isEqualTo("connection reset by peer");
        assertThat(IoErrors.describe(new java.net.SocketTimeoutException())).isEqualTo("SocketTimeoutException");
    }
}
