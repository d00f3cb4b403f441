package dev.sluice.exchange;

import dev.sluice.config.LocalAnswerConfig;
import dev.sluice.failure.ReplyFields;
import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import dev.sluice.route.Variables;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * An answer made in Sluice, not by an endpoint: what a route that does not forward answers by
 * itself (a redirect or a fixed response, with the route's response header rules applied), a
 * CORS preflight's, or a forward-auth service's refusal.
 */
record LocalAnswer(HttpResponse head, byte[] body) {
    static LocalAnswer of(Route route, Variables variables) {
        HttpResponse head;
        byte[] body;
        switch (route.answer()) {
            case LocalAnswerConfig.Redirect redirect -> {
                head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(redirect.status()));
                head.headers().set(HttpHeaderNames.LOCATION, route.redirectLocation(variables));
                body = new byte[0];
            }
            case LocalAnswerConfig.Respond respond -> {
                head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(respond.status()));
                respond.contentType().ifPresent(type -> head.headers().set(HttpHeaderNames.CONTENT_TYPE, type));
                body = respond.body().getBytes(StandardCharsets.UTF_8);
            }
        }
        if (head.status().code() != 204 && head.status().code() != 304) {
            head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        }
        route.responseHeaders().apply(head.headers(), variables);
        return new LocalAnswer(head, body);
    }

    /** Sends the whole answer, with {@code fields} (the access step's, CORS) added, head and body in one go. */
    void sendTo(Downstream downstream, RequestLog log, ReplyFields fields) {
        AccessCheck.addTo(head.headers(), fields);
        log.bodyOut(body.length);
        downstream.respond(head);
        downstream.respond(new DefaultLastHttpContent(Unpooled.wrappedBuffer(body)));
        downstream.responseComplete();
    }
}
