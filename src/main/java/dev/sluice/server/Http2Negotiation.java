package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.List;

/**
 * Which protocol a new client connection speaks: HTTP/1.1, as its pipeline is set up for, unless
 * the TLS handshake chose {@code h2} by ALPN ({@link Alpn}) or, on a cleartext listener with
 * {@code h2c}, the client began with HTTP/2's connection preface ({@link PriorKnowledge}). Then
 * the HTTP/1.1 handlers give way to {@link Http2ClientConnection}'s. The choice is made once,
 * before any request is read, and the chooser leaves the pipeline.
 */
final class Http2Negotiation {
    private Http2Negotiation() {}

    /** Adds the chooser in front of the HTTP/1.1 decoder, when the listener offers HTTP/2 at all. */
    static void offer(ChannelPipeline pipeline, Gateway gateway, ListenerRuntime listener) {
        if (!listener.config.http2().enabled()) {
            return;
        }
        if (listener.tls.isPresent()) {
            pipeline.addBefore("decoder", "alpn", new Alpn(gateway, listener));
        } else if (listener.config.http2().cleartext()) {
            pipeline.addBefore("decoder", "h2c", new PriorKnowledge(gateway, listener));
        }
    }

    /** The HTTP/1.1 handlers out, HTTP/2's in. */
    private static void switchToHttp2(ChannelPipeline pipeline, Gateway gateway, ListenerRuntime listener) {
        pipeline.remove("decoder");
        pipeline.remove("proxy");
        Http2ClientConnection.install(pipeline, gateway, listener);
    }

    /** After the handshake: {@code h2} if ALPN chose it; anything else (or no ALPN) stays HTTP/1.1. */
    private static final class Alpn extends ChannelInboundHandlerAdapter {
        private final Gateway gateway;
        private final ListenerRuntime listener;

        Alpn(Gateway gateway, ListenerRuntime listener) {
            this.gateway = gateway;
            this.listener = listener;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent done) {
                ChannelPipeline pipeline = ctx.pipeline();
                pipeline.remove(this);
                SslHandler tls = pipeline.get(SslHandler.class);
                if (done.isSuccess() && tls != null
                        && ApplicationProtocolNames.HTTP_2.equals(tls.applicationProtocol())) {
                    switchToHttp2(pipeline, gateway, listener);
                }
            }
            ctx.fireUserEventTriggered(event);
        }
    }

    /**
     * On a cleartext listener with {@code h2c}: reads the first bytes. The 24 bytes of HTTP/2's
     * connection preface (RFC 9113 §3.4) make it HTTP/2; the first byte that differs makes it
     * HTTP/1.1. Either way the bytes read go on to the chosen decoder.
     */
    private static final class PriorKnowledge extends ByteToMessageDecoder {
        private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
        private final Gateway gateway;
        private final ListenerRuntime listener;

        PriorKnowledge(Gateway gateway, ListenerRuntime listener) {
            this.gateway = gateway;
            this.listener = listener;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
            boolean matches = ByteBufUtil.equals(in, in.readerIndex(), PREFACE, PREFACE.readerIndex(), n);
            if (!matches) {
                ctx.pipeline().remove(this);
            } else if (n == PREFACE.readableBytes()) {
                switchToHttp2(ctx.pipeline(), gateway, listener);
                ctx.pipeline().remove(this);
            }
        }
    }
}
