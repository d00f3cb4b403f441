package dev.sluice.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.admin.AdminServer;
import dev.sluice.admin.AdminServer.AdminResponse;
import dev.sluice.config.ConfigProblem;
import dev.sluice.config.ConfigWarning;
import dev.sluice.config.DrainConfig;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The control plane's endpoints on the admin API: reload, push a config, list and restore
 * versions, drain. Answers are JSON; a refused config lists each error with its line and column.
 */
public final class ControlApi implements AdminServer.Endpoints {
    private static final String VERSION_PREFIX = "/config/versions/";

    /** Starts the instance's graceful drain; false when one had already started. */
    @FunctionalInterface
    public interface DrainStart {
        boolean begin(String reason);
    }

    private final ControlPlane control;
    private final DrainStart drain;

    public ControlApi(ControlPlane control, DrainStart drain) {
        this.control = control;
        this.drain = drain;
    }

    @Override
    public Optional<AdminResponse> handle(HttpMethod method, String path, Map<String, String> query, String body) {
        if (path.startsWith(VERSION_PREFIX)) {
            return Optional.of(get(method, () -> versionText(path.substring(VERSION_PREFIX.length()))));
        }
        return switch (path) {
            case "/reload" -> Optional.of(post(method, () -> render(control.reloadFile("POST /reload"))));
            case "/config" -> Optional.of(HttpMethod.GET.equals(method)
                    ? new AdminResponse(200, "application/yaml; charset=utf-8", control.currentText())
                    : post(method, () -> render(control.applyPosted(body))));
            case "/config/versions" -> Optional.of(get(method, this::versions));
            case "/rollback" -> Optional.of(post(method, () -> rollback(query.get("to"))));
            case "/drain" -> Optional.of(post(method, this::drain));
            default -> Optional.empty();
        };
    }

    private static AdminResponse post(HttpMethod method, java.util.function.Supplier<AdminResponse> action) {
        return HttpMethod.POST.equals(method) ? action.get() : AdminResponse.text(405, "use POST\n");
    }

    private static AdminResponse get(HttpMethod method, java.util.function.Supplier<AdminResponse> action) {
        return HttpMethod.GET.equals(method) ? action.get() : AdminResponse.text(405, "use GET\n");
    }

    private AdminResponse versions() {
        ObjectNode json = control.store().toJson();
        json.put("config_file_differs", control.fileDiffersFromRunning());
        return AdminResponse.json(200, json);
    }

    private AdminResponse versionText(String number) {
        try {
            int n = Integer.parseInt(number);
            Optional<String> text = control.store().text(n);
            return text.map(t -> new AdminResponse(200, "application/yaml; charset=utf-8", t))
                    .orElseGet(() -> AdminResponse.text(404, "no stored text for version " + n + "\n"));
        } catch (NumberFormatException e) {
            return AdminResponse.text(400, "version must be a number: " + number + "\n");
        } catch (IOException e) {
            return AdminResponse.text(500, "cannot read version " + number + ": " + e.getMessage() + "\n");
        }
    }

    private AdminResponse rollback(String to) {
        Optional<Integer> target;
        try {
            target = to == null || to.isEmpty() ? Optional.empty() : Optional.of(Integer.parseInt(to));
        } catch (NumberFormatException e) {
            return AdminResponse.json(400, Map.of("applied", false, "reason", "'to' must be a version number, got '" + to + "'"));
        }
        return render(control.rollback(target));
    }

    private AdminResponse drain() {
        boolean began = drain.begin("POST /drain");
        DrainConfig config = control.drainConfig();
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("draining", true);
        answer.put("already_draining", !began);
        answer.put("delay_ms", config.delay().toMillis());
        answer.put("timeout_ms", config.timeout().toMillis());
        return AdminResponse.json(202, answer);
    }

    static AdminResponse render(ControlPlane.Result result) {
        Map<String, Object> answer = new LinkedHashMap<>();
        return switch (result) {
            case ControlPlane.Result.Applied a -> {
                answer.put("applied", true);
                answer.put("unchanged", a.unchanged());
                answer.put("version", a.version().number());
                answer.put("applied_at", a.version().appliedAt().toString());
                answer.put("sha256", a.version().sha256());
                answer.put("source", a.version().source());
                a.version().restoredFrom().ifPresent(r -> answer.put("restored_from", r));
                answer.put("listeners", Map.of("added", a.listeners().added(), "removed", a.listeners().removed()));
                answer.put("warnings", warnings(a.warnings()));
                answer.put("notes", a.notes());
                yield AdminResponse.json(200, answer);
            }
            case ControlPlane.Result.Refused r -> {
                answer.put("applied", false);
                answer.put("reason", r.reason());
                answer.put("errors", r.errors().stream().map(ControlApi::error).toList());
                answer.put("warnings", warnings(r.warnings()));
                yield AdminResponse.json(r.status(), answer);
            }
        };
    }

    private static Map<String, Object> error(ConfigProblem p) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("source", p.source());
        e.put("line", p.line());
        e.put("column", p.column());
        e.put("message", p.message());
        e.put("text", p.toString());
        return e;
    }

    private static List<String> warnings(List<ConfigWarning> warnings) {
        return warnings.stream().map(ConfigWarning::toString).toList();
    }
}
