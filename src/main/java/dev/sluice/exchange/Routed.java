package dev.sluice.exchange;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.handler.codec.http.HttpHeaderNames;

/** The route step's answer: the route a request matched and its cluster, or why none matched. */
public sealed interface Routed {
    /** {@code cluster} is null for a route that answers by itself (a redirect, a fixed response). */
    record To(Route route, Cluster cluster) implements Routed {}

    /** No route takes the request: it is answered with {@link #kind()} and {@link #fields()}, its body unread. */
    sealed interface Refused extends Routed {
        FailureKind kind();

        ReplyFields fields();
    }

    /** Routes match the request but for its method: 405 {@code method_not_allowed} with {@code Allow: allowed}. */
    record WrongMethod(java.util.List<String> allowed) implements Refused {
        @Override
        public FailureKind kind() {
            return FailureKind.METHOD_NOT_ALLOWED;
        }

        /** RFC 9110 §15.5.6: a 405 lists the methods the target supports. */
        @Override
        public ReplyFields fields() {
            return ReplyFields.NONE.with(HttpHeaderNames.ALLOW, String.join(", ", allowed));
        }
    }

    /** No route matches the request's host, path, method and headers: 404 {@code no_route}. */
    record Nowhere() implements Refused {
        @Override
        public FailureKind kind() {
            return FailureKind.NO_ROUTE;
        }

        @Override
        public ReplyFields fields() {
            return ReplyFields.NONE;
        }
    }

    Routed NOWHERE = new Nowhere();
}
