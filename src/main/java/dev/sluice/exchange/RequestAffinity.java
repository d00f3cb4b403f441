package dev.sluice.exchange;

import dev.sluice.config.StickyConfig;
import dev.sluice.upstream.Affinity;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import java.util.Optional;

/**
 * What a request brings to its sticky cluster's pick, read once before its first attempt: the
 * value of the cluster's cookie, or the key it hashes by. A request without them (a first visit,
 * no such header) gets {@link Affinity#NONE} and is balanced as usual.
 */
final class RequestAffinity {
    private RequestAffinity() {}

    static Affinity of(Optional<StickyConfig> sticky, HttpRequest request, RequestKeys keys) {
        if (sticky.isEmpty()) {
            return Affinity.NONE;
        }
        return switch (sticky.get()) {
            case StickyConfig.Cookie cookie -> cookie(request, cookie.name());
            case StickyConfig.Hash hash -> switch (hash.source()) {
                case StickyConfig.HashSource.Client client -> Affinity.key(keys.client());
                case StickyConfig.HashSource.Header header -> {
                    String value = keys.header(header.name());
                    yield value == null ? Affinity.NONE : Affinity.key(value);
                }
            };
        };
    }

    /** The first cookie called {@code name}, across every {@code Cookie} field (RFC 6265 §5.4: a client sends one; HTTP/2 splits it). */
    private static Affinity cookie(HttpRequest request, String name) {
        for (String field : request.headers().getAll(HttpHeaderNames.COOKIE)) {
            // LAX: a browser's cookie header is not always strict RFC 6265 (other cookies may be quoted or odd).
            for (Cookie cookie : ServerCookieDecoder.LAX.decodeAll(field)) {
                if (cookie.name().equals(name)) {
                    return Affinity.cookie(cookie.value());
                }
            }
        }
        return Affinity.NONE;
    }
}
