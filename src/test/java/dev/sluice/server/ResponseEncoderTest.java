package dev.sluice.server;

import static dev.sluice.testing.HttpParts.last;
import static dev.sluice.testing.HttpParts.part;
import static dev.sluice.testing.HttpParts.trailers;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The bytes a client receives: Sluice's response encoder writes what Netty's encoder (with the
 * rule that a response to HEAD has no body) wrote for every response shape Sluice sends.
 */
class ResponseEncoderTest {
    private record Case(boolean answeringHead, Supplier<List<Object>> parts) {}

    @Test
    void everyResponseShapeIsTheBytesNettysEncoderWrote() {
        List<Case> cases = List.of(
                new Case(false, () -> List.of(head(200, "content-length", "5"), last("hello"))),
                new Case(false, () -> List.of(head(200, "transfer-encoding", "chunked"), part("hello"), part(""),
                        part(" world"), trailers("x-checksum", "abc"))),
                new Case(false, () -> List.of(head(200, "transfer-encoding", "chunked"), last("one go"))),
                new Case(false, () -> List.of(head(200, "transfer-encoding", "chunked"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(false, () -> List.of(head(200), part("until"), part(" close"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(true, () -> List.of(head(200, "content-length", "5"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(true, () -> List.of(head(200, "transfer-encoding", "chunked"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(false, () -> List.of(head(204, "content-length", "0"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(false, () -> List.of(head(205, "transfer-encoding", "chunked"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(false, () -> List.of(head(304, "etag", "\"v1\"", "content-length", "99"), LastHttpContent.EMPTY_LAST_CONTENT)),
                new Case(false, () -> List.of(full(HttpResponseStatus.valueOf(103), "", "link", "</a.css>; rel=preload"))),
                new Case(false, () -> List.of(full(HttpResponseStatus.CONTINUE, ""))),
                new Case(false, () -> List.of(full(HttpResponseStatus.BAD_GATEWAY, "bad_response\n",
                        "content-length", "13", "x-sluice-error", "bad_response"))),
                new Case(true, () -> List.of(full(HttpResponseStatus.SERVICE_UNAVAILABLE, "", "content-length", "12"))),
                new Case(false, () -> List.of(custom(new HttpResponseStatus(299, "Quite Fine")), last("ok"))),
                new Case(false, () -> List.of(custom(new HttpResponseStatus(200, "")), last("ok"))),
                new Case(false, () -> List.of(head(200, "x-latin", "caf\u00e9", "content-length", "1"), last("!"))));
        for (Case c : cases) {
            assertThat(sluice(c.answeringHead(), c.parts().get())).isEqualTo(netty(c.answeringHead(), c.parts().get()));
        }
    }

    private static String sluice(boolean answeringHead, List<Object> parts) {
        EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ChannelHandlerContext ctx = channel.pipeline().firstContext();
        ResponseEncoder encoder = new ResponseEncoder();
        encoder.answeringHead(answeringHead);
        List<Object> out = new ArrayList<>();
        for (Object part : parts) {
            encoder.encodeTo(ctx, part, out);
        }
        channel.finishAndReleaseAll();
        return text(out);
    }

    private static String netty(boolean answeringHead, List<Object> parts) {
        EmbeddedChannel channel = new EmbeddedChannel(new HttpResponseEncoder() {
            @Override
            protected boolean isContentAlwaysEmpty(HttpResponse msg) {
                return super.isContentAlwaysEmpty(msg) || answeringHead && msg.status().code() >= 200;
            }
        });
        for (Object part : parts) {
            channel.writeOutbound(part);
        }
        List<Object> out = new ArrayList<>();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            out.add(o);
        }
        channel.finishAndReleaseAll();
        return text(out);
    }

    private static String text(List<Object> buffers) {
        StringBuilder s = new StringBuilder();
        for (Object o : buffers) {
            ByteBuf buf = (ByteBuf) o;
            s.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        return s.toString();
    }

    private static HttpResponse head(int status, String... fields) {
        return custom(HttpResponseStatus.valueOf(status), fields);
    }

    private static HttpResponse custom(HttpResponseStatus status, String... fields) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        for (int i = 0; i < fields.length; i += 2) {
            r.headers().add(fields[i], fields[i + 1]);
        }
        return r;
    }

    private static HttpResponse full(HttpResponseStatus status, String body, String... fields) {
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.ISO_8859_1));
        for (int i = 0; i < fields.length; i += 2) {
            r.headers().add(fields[i], fields[i + 1]);
        }
        return r;
    }
}
