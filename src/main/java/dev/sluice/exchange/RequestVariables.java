package dev.sluice.exchange;

import dev.sluice.observe.RequestLog;
import dev.sluice.route.Route;
import dev.sluice.route.RouteTable;
import dev.sluice.route.Variables;
import io.netty.handler.codec.http.HttpRequest;

/**
 * One request's values for its route's templates (header rules, a redirect's target), each
 * worked out only when a template asks for it.
 */
final class RequestVariables implements Variables {
    private final HttpRequest request;
    private final RequestKeys keys;
    private final RequestLog log;
    private final Route route;

    RequestVariables(HttpRequest request, RequestKeys keys, RequestLog log, Route route) {
        this.request = request;
        this.keys = keys;
        this.log = log;
        this.route = route;
    }

    @Override
    public String value(String name) {
        return switch (name) {
            case "client" -> keys.client();
            case "request_id" -> log.requestId();
            case "route" -> route.name();
            case "host" -> RouteTable.hostOf(log.host());
            case "path" -> RouteTable.pathOf(request.uri());
            case "query" -> query();
            case "uri" -> {
                String query = query();
                yield query.isEmpty() ? RouteTable.pathOf(request.uri()) : RouteTable.pathOf(request.uri()) + "?" + query;
            }
            default -> throw new IllegalArgumentException("no variable " + name);
        };
    }

    /** The query string without its '?', or "" (a fragment, never sent by browsers, left out). */
    private String query() {
        String uri = request.uri();
        int mark = uri.indexOf('?');
        if (mark < 0) {
            return "";
        }
        int fragment = uri.indexOf('#', mark);
        return uri.substring(mark + 1, fragment < 0 ? uri.length() : fragment);
    }
}
