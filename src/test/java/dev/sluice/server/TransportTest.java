package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gateway's event loops, on real sockets: what they leave open when they shut down. */
class TransportTest {
    private static final int T_SECONDS = 10;

    /**
     * The gateway's close shuts its loops down with no quiet period. Netty's own loop, asked to
     * while it runs a task, ended without closing its channels: the peer never saw the
     * connection end (a health check's connection to a backend still ESTABLISHED after the
     * gateway closed). Fails without {@code Transport.ClosingLoops}.
     */
    @Test
    void aLoopShutDownWhileRunningATaskStillClosesItsConnections() throws Exception {
        Transport transport = Transport.best();
        EventLoopGroup loops = transport.newGroup(1, "transport-test");
        try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Channel connection = new Bootstrap().group(loops).channel(transport.socketChannel())
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(peer.getLocalSocketAddress()).sync().channel();
            try (Socket accepted = peer.accept()) {
                CountDownLatch running = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                loops.execute(() -> {
                    running.countDown();
                    try {
                        release.await(T_SECONDS, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                running.await(T_SECONDS, TimeUnit.SECONDS);
                io.netty.util.concurrent.Future<?> shutdown = loops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
                release.countDown();
                assertThat(shutdown.await(T_SECONDS, TimeUnit.SECONDS)).as("the loop ended").isTrue();

                assertThat(connection.isOpen()).as("the connection on the loop, closed").isFalse();
                accepted.setSoTimeout(T_SECONDS * 1000);
                int read;
                try {
                    read = accepted.getInputStream().read();
                } catch (SocketTimeoutException stillOpen) {
                    read = -2;
                }
                assertThat(read).as("the peer sees the connection end (-1), not an open one (-2)").isEqualTo(-1);
            }
        } finally {
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }
}
