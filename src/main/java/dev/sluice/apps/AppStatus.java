package dev.sluice.apps;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * An app as {@code GET /apps}, {@code /status} and the metrics show it.
 *
 * @param name the app's cluster
 * @param address where it listens ({@code 127.0.0.1:PORT} for an app Sluice runs)
 * @param pid its process (the leader of its process group) while one runs
 * @param starts how many times Sluice started it
 * @param failures failed runs in a row (exits and starts that never became ready)
 * @param exitCode how its last process ended (a negative code: killed by that signal), if one did
 * @param nextStartInMillis while exited or in a crash loop: how long until a request may start it again
 * @param held requests waiting for it to become ready
 * @param inFlight requests admitted to it and not yet done
 * @param lastError why the last start failed, or the app was stopped
 * @param lastLines the last lines it wrote to its log
 */
public record AppStatus(String name, AppState state, String address, OptionalLong pid, int starts, int failures,
                        OptionalInt exitCode, long nextStartInMillis, int held, int inFlight, String lastError,
                        String log, List<String> lastLines) {

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", name);
        json.put("state", state.label());
        json.put("address", address);
        json.put("pid", pid.isPresent() ? pid.getAsLong() : null);
        json.put("starts", starts);
        json.put("failures", failures);
        json.put("exit_code", exitCode.isPresent() ? exitCode.getAsInt() : null);
        json.put("next_start_in_ms", nextStartInMillis);
        json.put("held", held);
        json.put("in_flight", inFlight);
        json.put("last_error", lastError.isEmpty() ? null : lastError);
        json.put("log", log);
        json.put("last_lines", lastLines);
        return json;
    }
}
