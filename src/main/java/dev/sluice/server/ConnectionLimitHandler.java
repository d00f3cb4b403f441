package dev.sluice.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * First on a listening socket's pipeline, before Netty's acceptor: each accepted connection is
 * counted against the listener's {@link ConnectionLimit}, and one past it is closed there and
 * then, on the accepting event loop: never registered with a loop, never read, no handler made
 * for it. Connections already open are not touched. The client sees its connection closed
 * before any response.
 *
 * <pre>
 * listening socket: ConnectionLimitHandler → ServerBootstrapAcceptor
 * </pre>
 */
final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {
    private final ListenerRuntime listener;
    /** One listener object for every connection's close, so counting one costs no allocation. */
    private final ChannelFutureListener countClose;

    ConnectionLimitHandler(ListenerRuntime listener) {
        this.listener = listener;
        this.countClose = closed -> listener.connections.closed();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel accepted = (Channel) msg;
        switch (listener.connections.tryOpen()) {
            case REFUSED -> accepted.unsafe().closeForcibly();
            case OPENED -> admit(ctx, accepted);
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
