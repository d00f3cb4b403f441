package dev.sluice.admin;

import dev.sluice.admin.AdminServer.AdminResponse;
import dev.sluice.apps.AppStatus;
import dev.sluice.apps.AppSupervisor;
import dev.sluice.apps.Apps;
import io.netty.handler.codec.http.HttpMethod;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The apps on the admin API: {@code GET /apps} lists them with their state, and
 * {@code POST /apps/NAME/start}, {@code /stop} and {@code /restart} act on one (checked by the
 * {@link AdminGuard} as every state-changing request is). An action answers once it is done: a
 * start when the process is launched (not yet ready), a stop when the process is gone.
 */
public final class AppsApi implements AdminServer.Endpoints {
    private static final String PREFIX = "/apps/";
    private static final Map<String, Function<AppSupervisor, CompletableFuture<AppStatus>>> ACTIONS = Map.of(
            "start", AppSupervisor::start, "stop", AppSupervisor::stop, "restart", AppSupervisor::restart);

    private final Apps apps;

    public AppsApi(Apps apps) {
        this.apps = apps;
    }

    @Override
    public Optional<AdminResponse> handle(HttpMethod method, String path, Map<String, String> query, String body) {
        if (path.equals("/apps")) {
            return Optional.of(HttpMethod.GET.equals(method) ? AdminResponse.json(200, list(apps.statuses()))
                    : AdminResponse.text(405, "use GET\n"));
        }
        if (!path.startsWith(PREFIX)) {
            return Optional.empty();
        }
        String[] parts = path.substring(PREFIX.length()).split("/", -1);
        if (parts.length != 2 || !ACTIONS.containsKey(parts[1])) {
            return Optional.of(AdminResponse.text(404, "no admin endpoint " + method + " " + path
                    + " (POST /apps/NAME/start, /stop or /restart)\n"));
        }
        if (!HttpMethod.POST.equals(method)) {
            return Optional.of(AdminResponse.text(405, "use POST\n"));
        }
        Optional<AppSupervisor> app = apps.app(parts[0]);
        if (app.isEmpty()) {
            return Optional.of(AdminResponse.text(404, "no app '" + parts[0] + "'; GET /apps lists them\n"));
        }
        try {
            AppStatus status = ACTIONS.get(parts[1]).apply(app.get())
                    .get(app.get().config().stopGrace().toSeconds() + 30, TimeUnit.SECONDS);
            return Optional.of(AdminResponse.json(200, status.toJson()));
        } catch (Exception e) {
            return Optional.of(AdminResponse.text(500, parts[1] + " of app '" + parts[0] + "' failed: " + e + "\n"));
        }
    }

    static Map<String, Object> list(List<AppStatus> statuses) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("apps", statuses.stream().map(AppStatus::toJson).toList());
        return json;
    }
}
