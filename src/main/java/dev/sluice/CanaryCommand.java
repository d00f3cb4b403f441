package dev.sluice;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sluice canary status|promote|abort|resume}: the running sluice's canaries, through its admin API. */
@Command(name = "canary", mixinStandardHelpOptions = true, version = Sluice.VERSION, description = "Show the running "
        + "sluice's canaries (status), or end one now: promote (the canary takes every request) or abort (it "
        + "takes none); or resume one at 0 (rolled back or aborted) from its first step. Each is recorded as a "
        + "config version. Through its admin API.")
final class CanaryCommand implements Callable<Integer> {
    @CommandLine.Parameters(index = "0", paramLabel = "status|promote|abort|resume", description = "what to do")
    String action;

    @CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "ROUTE",
            description = "the canary's route (promote, abort and resume need it; status shows only it)")
    String route;

    @CommandLine.Mixin
    Sluice.RunningInstance running;

    @Override
    public Integer call() throws Exception {
        if (action.equals("status")) {
            Optional<AdminClient.Answer> reply = running.call(c -> c.get("/canaries"));
            if (reply.isEmpty()) {
                return 2;
            }
            JsonNode canaries = new ObjectMapper().readTree(reply.get().body()).path("canaries");
            if (route == null) {
                printCanaries(canaries);
                return 0;
            }
            List<JsonNode> routes = new java.util.ArrayList<>();
            List<String> names = new java.util.ArrayList<>();
            canaries.forEach(c -> {
                names.add(c.path("route").asText());
                if (c.path("route").asText().equals(route)) {
                    routes.add(c);
                }
            });
            if (routes.isEmpty()) {
                System.err.println("sluice: no canary on route '" + route + "'; canary routes: " + names);
                return 1;
            }
            printCanaries(new ObjectMapper().valueToTree(routes));
            return 0;
        }
        if (!List.of("promote", "abort", "resume").contains(action)) {
            System.err.println("sluice: unknown canary action '" + action + "'; usage: sluice canary status [ROUTE] "
                    + "| promote ROUTE | abort ROUTE | resume ROUTE");
            return 2;
        }
        if (route == null) {
            System.err.println("sluice: canary " + action + " needs the canary's ROUTE: sluice canary " + action
                    + " ROUTE (see sluice canary status)");
            return 2;
        }
        String path = "/canaries/" + java.net.URLEncoder.encode(route, java.nio.charset.StandardCharsets.UTF_8)
                + "/" + action;
        Optional<AdminClient.Answer> reply = running.call(c -> c.post(path));
        if (reply.isEmpty()) {
            return 2;
        }
        JsonNode json = new ObjectMapper().readTree(reply.get().body());
        if (reply.get().status() != 200) {
            System.err.println("sluice: canary " + action + " refused (" + reply.get().status() + "): "
                    + json.path("reason").asText());
            return 1;
        }
        System.out.println("route " + route + ": canary " + json.path("canary").asText() + " "
                + json.path("status").asText() + ", now at " + json.path("weight").asInt() + "%"
                + (json.path("recorded_version").isNull() ? " (not recorded as a version: see the log)"
                        : "; recorded as config version " + json.path("recorded_version").asInt()));
        return 0;
    }

    private static void printCanaries(JsonNode canaries) {
        if (canaries.isEmpty()) {
            System.out.println("no route has a canary");
            return;
        }
        String row = "%-16s %-16s %-19s %-7s %-9s %-9s %s%n";
        System.out.printf(row, "ROUTE", "CANARY", "STATUS", "WEIGHT", "STEP", "NEXT", "LAST JUDGEMENT");
        for (JsonNode c : canaries) {
            JsonNode judged = c.path("judged");
            String last = judged.isEmpty() ? "-"
                    : (judged.get(judged.size() - 1).path("passed").asBoolean() ? "passed: " : "failed: ")
                            + judged.get(judged.size() - 1).path("text").asText();
            boolean held = c.hasNonNull("held_because");
            System.out.printf(row, c.path("route").asText(), c.path("canary").asText(),
                    c.path("status").asText() + (held ? " (held)" : ""), c.path("weight").asInt() + "%",
                    c.path("step").isNull() ? "-" : c.path("step").asInt() + "/" + c.path("steps").size(),
                    c.path("next_judgement_in_ms").isMissingNode() ? "-" : String.format(java.util.Locale.ROOT, "%.1fs",
                            c.path("next_judgement_in_ms").asLong() / 1000.0), last);
            if (c.hasNonNull("ended_because")) {
                System.out.println("  ended" + (c.hasNonNull("ended_at") ? " " + c.path("ended_at").asText() : "") + ": "
                        + c.path("ended_because").asText()
                        + (c.hasNonNull("recorded_version") ? "; config version " + c.path("recorded_version").asInt()
                                : ""));
            }
            if (held && c.path("status").asText().equals("promoted")) {
                System.out.println("  held at 100% over reloads and restarts; a config that sets the canary to 0 (the "
                        + "stable pointed at the new version), or a changed canary, ends it");
            } else if (held) {
                System.out.println("  held at " + c.path("weight").asInt() + "% over reloads and restarts; `sluice "
                        + "canary resume " + c.path("route").asText() + "` or a changed canary runs it again");
            }
        }
    }
}
