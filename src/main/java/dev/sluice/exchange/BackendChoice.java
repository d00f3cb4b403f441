package dev.sluice.exchange;

import dev.sluice.config.SplitConfig.StickyKey;
import dev.sluice.route.Split;
import dev.sluice.upstream.Maglev;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The backend of a split route for one request, chosen once in the route step: by the hash of
 * its sticky key (a header's value, a cookie's), so one user stays on one backend while the
 * weights hold, or else at random by weight.
 */
final class BackendChoice {
    /** A seed of its own, so a key's backend says nothing about its endpoint in a sticky cluster. */
    private static final long SEED = 0x5eed_ca9a_7e11_0b0bL;

    private BackendChoice() {}

    static String of(Split split, HttpRequest request, RandomGenerator random) {
        Optional<String> key = split.config().sticky().map(sticky -> switch (sticky) {
            case StickyKey.Header header -> request.headers().get(header.name());
            case StickyKey.Cookie cookie -> cookie(request, cookie.name());
        });
        return split.choose(key.isPresent() ? Maglev.hash(key.get(), SEED) : random.nextLong());
    }

    /** The first cookie called {@code name}, across every {@code Cookie} field; null without one. */
    private static String cookie(HttpRequest request, String name) {
        for (String field : request.headers().getAll(HttpHeaderNames.COOKIE)) {
            // LAX: a browser's cookie header is not always strict RFC 6265 (as in RequestAffinity).
            for (Cookie cookie : ServerCookieDecoder.LAX.decodeAll(field)) {
                if (cookie.name().equals(name)) {
                    return cookie.value();
                }
            }
        }
        return null;
    }
}
