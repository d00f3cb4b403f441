package dev.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import java.util.List;

/**
 * The HTTP/1.1 codec of a connection to an endpoint: Netty's request encoder, with the header
 * fields written by {@link HeaderBytes}, and Sluice's {@link ResponseDecoder}, for a connection
 * that carries one request at a time.
 *
 * <p>The decoder must know which request a response answers (a response to HEAD has no body
 * whatever its headers say); with one request in flight that is one field, where
 * HttpClientCodec keeps a queue for pipelined requests Sluice never sends (nor CONNECT, whose
 * tunnel HttpClientCodec also handles).
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<ResponseDecoder, UpstreamCodec.Encoder>
        implements ResponseDecoder.RequestMethods {
    /** The method of the request whose response is awaited; null once its final response began. */
    private HttpMethod inFlight;

    UpstreamCodec(int maxHeadSize, int maxBodyPart) {
        init(new ResponseDecoder(this, maxHeadSize, maxBodyPart), new Encoder());
    }

    @Override
    public boolean finalResponseAnswersHead() {
        HttpMethod method = inFlight;
        inFlight = null;
        return HttpMethod.HEAD.equals(method);
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
}
