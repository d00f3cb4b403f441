package dev.sluice.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/** The native epoll transport where the platform has it, NIO otherwise. */
public record Transport(
        String name,
        IoHandlerFactory ioHandlerFactory,
        Class<? extends ServerChannel> serverChannel,
        Class<? extends SocketChannel> socketChannel) {

    public static Transport best() {
        if (Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(),
                    EpollServerSocketChannel.class, EpollSocketChannel.class);
        }
        return new Transport("nio", NioIoHandler.newFactory(),
                NioServerSocketChannel.class, NioSocketChannel.class);
    }

    /** {@code threads} event loops whose shutdown closes every connection still on them ({@link ClosingLoops}). */
    public EventLoopGroup newGroup(int threads, String threadPrefix) {
        return new ClosingLoops(threads, new DefaultThreadFactory(threadPrefix, true), ioHandlerFactory);
    }

    /**
     * Netty's event loops, with one step added to their end. Netty 4.2's loop
     * ({@code SingleThreadIoEventLoop.run}) closes its channels ({@code IoHandler.prepareToDestroy})
     * only in an iteration that sees the shutdown between its I/O and its tasks. A shutdown asked
     * for while the loop runs tasks, with no quiet period ({@code shutdownGracefully(0, …)}, as
     * the gateway's close), ends the loop at once, and every channel still on it stays open: its
     * socket ESTABLISHED after the gateway closed, until the JVM exits. The gateway's close wakes
     * the loops with tasks of its own just before (the pools' {@code closeAll}), so a connection
     * opened by no one but the loop, a health check's, was left so about one close in four
     * (Http2HealthCheckTest). Here the loop, once ended, closes what is still registered and runs
     * the tasks that closing queues, until none are left.
     */
    private static final class ClosingLoops extends MultiThreadIoEventLoopGroup {
        /** 16: closing a connection queues its listeners' tasks, which close what depends on it; a few levels at most. */
        private static final int MAX_CLOSING_PASSES = 16;

        ClosingLoops(int threads, ThreadFactory threadFactory, IoHandlerFactory ioHandlerFactory) {
            super(threads, threadFactory, ioHandlerFactory);
        }

        @Override
        protected IoEventLoop newChild(Executor executor, IoHandlerFactory ioHandlerFactory, Object... args) {
            return new SingleThreadIoEventLoop(this, executor, ioHandlerFactory) {
                @Override
                protected void run() {
                    super.run();
                    if (!isShuttingDown()) {
                        return; // suspended, not ending (Netty's auto-scaling, off here): its channels live on
                    }
                    // Closing queues tasks (the channels' close listeners), which may close more;
                    // a few passes settle it, and a bound keeps a task that requeues itself from
                    // holding the loop's end.
                    for (int pass = 0; pass < MAX_CLOSING_PASSES; pass++) {
                        ioHandler().prepareToDestroy();
                        if (!runAllTasks()) {
                            break;
                        }
                    }
                }
            };
        }
    }
}
