package dev.sluice.canary;

import dev.sluice.admin.AdminServer;
import dev.sluice.admin.AdminServer.AdminResponse;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The canaries on the admin API (behind its guard, like every endpoint): {@code GET /canaries},
 * {@code GET /canaries/ROUTE}, {@code POST /canaries/ROUTE/promote}, {@code /abort} and {@code /resume}.
 */
public final class CanaryApi implements AdminServer.Endpoints {
    private static final String PREFIX = "/canaries/";

    private final Canaries canaries;

    public CanaryApi(Canaries canaries) {
        this.canaries = canaries;
    }

    @Override
    public Optional<AdminResponse> handle(HttpMethod method, String path, Map<String, String> query, String body) {
        if (path.equals("/canaries")) {
            return Optional.of(HttpMethod.GET.equals(method)
                    ? AdminResponse.json(200, Map.of("canaries", canaries.toJson()))
                    : AdminResponse.text(405, "use GET\n"));
        }
        if (!path.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String rest = path.substring(PREFIX.length());
        int slash = rest.lastIndexOf('/');
        String action = slash < 0 ? "" : rest.substring(slash + 1);
        if (slash <= 0 || !(action.equals("promote") || action.equals("abort") || action.equals("resume"))) {
            // A route's name may hold a '/' (sent as %2F, the path arrives decoded): all of it is the name.
            if (rest.isEmpty()) {
                return Optional.of(AdminResponse.text(404, "use GET /canaries/ROUTE, or POST /canaries/ROUTE/promote, "
                        + "/canaries/ROUTE/abort or /canaries/ROUTE/resume\n"));
            }
            return Optional.of(HttpMethod.GET.equals(method) ? one(rest) : AdminResponse.text(405,
                    "use GET /canaries/ROUTE, or POST /canaries/ROUTE/promote, /abort or /resume\n"));
        }
        if (!HttpMethod.POST.equals(method)) {
            return Optional.of(AdminResponse.text(405, "use POST\n"));
        }
        String route = rest.substring(0, slash);
        Canaries.Answer answer = switch (action) {
            case "promote" -> canaries.promote(route);
            case "abort" -> canaries.abort(route);
            default -> canaries.resume(route);
        };
        return Optional.of(AdminResponse.json(answer.status(), answer.body()));
    }

    /** {@code GET /canaries/ROUTE}: that route's run, as {@code GET /canaries} lists it. */
    private AdminResponse one(String route) {
        List<Map<String, Object>> all = canaries.toJson();
        return all.stream().filter(c -> route.equals(c.get("route"))).findFirst()
                .map(c -> AdminResponse.json(200, c))
                .orElseGet(() -> AdminResponse.json(404, Map.of("route", route, "reason", "no canary on route '" + route
                        + "'; canary routes: " + all.stream().map(c -> c.get("route")).toList())));
    }
}
