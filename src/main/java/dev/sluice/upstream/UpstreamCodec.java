package dev.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpStatusClass;
import java.util.List;

/**
 * The HTTP/1.1 codec of a connection to an endpoint: Netty's request encoder and response
 * decoder, as in {@code HttpClientCodec}, for a connection that carries one request at a time.
 *
 * <p>The decoder must know which request a response answers (a response to HEAD has no body
 * whatever its headers say); with one request in flight that is one field, where
 * HttpClientCodec keeps a queue for pipelined requests Sluice never sends (nor CONNECT, whose
 * tunnel HttpClientCodec also handles). Its own encoder cannot be subclassed, and the request
 * headers are written with {@link HeaderBytes}.
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<UpstreamCodec.Decoder, UpstreamCodec.Encoder> {
    /** The method of the request whose response is awaited; null once its final response began. */
    private HttpMethod inFlight;

    UpstreamCodec(HttpDecoderConfig config) {
        init(new Decoder(config), new Encoder());
    }

    final class Encoder extends HttpRequestEncoder {
        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest request) {
                inFlight = request.method();
            }
            super.encode(ctx, msg, out);
        }

        @Override
        protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
            HeaderBytes.write(headers, buf);
        }
    }

    final class Decoder extends HttpResponseDecoder {
        Decoder(HttpDecoderConfig config) {
            super(config);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            if (((HttpResponse) msg).status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                // An interim response (100, 103) comes before the final one for the same request.
                return super.isContentAlwaysEmpty(msg);
            }
            HttpMethod method = inFlight;
            inFlight = null;
            return HttpMethod.HEAD.equals(method) || super.isContentAlwaysEmpty(msg);
        }
    }
}
