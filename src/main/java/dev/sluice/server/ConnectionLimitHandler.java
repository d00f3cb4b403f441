package dev.sluice.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.function.IntSupplier;

/**
 * First on a listening socket's pipeline, before Netty's acceptor: each accepted connection is
 * counted against the listener's {@link ConnectionLimit}. At the limit it takes the place of the
 * connection that has waited longest for its client ({@link ListenerRuntime#makeRoom}); when none
 * is waiting (every connection has a request in flight) it is closed there and then, on the
 * accepting event loop: never registered with a loop, never read, no handler made for it, and the
 * client sees its connection closed before any response. Connections with a request in flight are
 * never touched.
 *
 * <pre>
 * listening socket: ConnectionLimitHandler → ServerBootstrapAcceptor
 * </pre>
 */
final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {
    private final ListenerRuntime listener;
    /** One listener object for every connection's close, so counting one costs no allocation. */
    private final ChannelFutureListener countClose;
    private final IntSupplier waiting;

    ConnectionLimitHandler(ListenerRuntime listener) {
        this.listener = listener;
        this.countClose = closed -> listener.connections.closed();
        this.waiting = listener::waiting;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel accepted = (Channel) msg;
        switch (listener.connections.tryOpen(waiting)) {
            case REFUSED -> accepted.unsafe().closeForcibly();
            case OPENED -> admit(ctx, accepted);
            case IN_PLACE_OF_WAITING -> {
                listener.makeRoom();
                admit(ctx, accepted);
            }
            case PRESSURE_BEGAN -> {
                admit(ctx, accepted);
                listener.pressureBegan();
            }
        }
    }

    private void admit(ChannelHandlerContext ctx, Channel accepted) {
        accepted.closeFuture().addListener(countClose);
        ctx.fireChannelRead(accepted);
    }
}
