package dev.sluice.control;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.ClusterConfig;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.RouteConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.SplitConfig;
import dev.sluice.config.SplitWeights;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weights a canary's run ended at (rolled back or aborted: 0; promoted: 100), held against
 * every later config that deploys the same canary again. The file on disk keeps the weights that
 * started the run; without a hold, the next reload of it (SIGHUP, {@code --watch-config}, a
 * restart, a rollback to the version that started it) would silently send the failed canary its
 * share again. So a config whose route has the same canary (the same backends apart from their
 * weights, {@code sticky} and {@code canary}, and the same canary cluster) is applied with the
 * held weights, and says so in its version's source. The hold goes when that changes (a new
 * version deployed behind the canary is a new canary), when a config sets the canary to 0 or
 * 100 itself (it says where the canary stands: no run starts from there), or when an operator
 * resumes or ends the canary ({@code sluice canary resume|promote|abort}).
 *
 * <p>Kept in the state directory ({@value #FILE}) so that a restart holds too, with how each run
 * ended ({@link CanaryEnd}), so that a restart shows it as it was. Used under the control plane's lock.
 */
final class CanaryHolds {
    private static final Logger LOG = LoggerFactory.getLogger(CanaryHolds.class);
    static final String FILE = "canary-holds.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One route's held weights.
     *
     * @param identity what makes the canary the same one ({@link #identity}): a config with another
     *     identity for the route releases the hold
     * @param weights by cluster
     * @param end how the run ended: what its version's source says, and what {@code GET /canaries} shows
     */
    record Hold(String route, String identity, Map<String, Integer> weights, CanaryEnd end) {
        String why() {
            return end.why();
        }
    }

    /** A config text with the held weights put back: the routes held, and one sentence for each. */
    record Pinned(String text, List<String> routes, List<String> held) {
        boolean changed() {
            return !held.isEmpty();
        }
    }

    private final Optional<Path> file;
    private final Map<String, Hold> holds = new LinkedHashMap<>();
    /** A copy of {@link #holds} for readers off the control plane's lock (the canary thread). */
    private volatile Map<String, Hold> published = Map.of();

    private CanaryHolds(Optional<Path> file) {
        this.file = file;
    }

    /** The holds recorded in {@code store}'s directory (none for a store in memory, or an unreadable file: logged). */
    static CanaryHolds of(ConfigStore store) {
        CanaryHolds holds = new CanaryHolds(store.directory().map(d -> d.resolve(FILE)));
        holds.file.filter(Files::exists).ifPresent(f -> {
            try {
                for (JsonNode h : JSON.readTree(Files.readString(f))) {
                    Map<String, Integer> weights = new TreeMap<>();
                    h.path("weights").properties().forEach(e -> weights.put(e.getKey(), e.getValue().asInt()));
                    holds.holds.put(h.path("route").asText(), new Hold(h.path("route").asText(),
                            h.path("identity").asText(), weights, endOf(h)));
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("cannot read the canary holds in {}: {}; no canary is held", f, e.getMessage());
            }
        });
        holds.published = Map.copyOf(holds.holds);
        return holds;
    }

    /**
     * A hold's end as kept; a file written before the end was kept whole has only {@code why},
     * whose words say how it ended.
     */
    private static CanaryEnd endOf(JsonNode h) {
        String why = h.path("why").asText();
        String status = h.path("status").asText(why.contains(" promoted on route ") ? "promoted"
                : why.contains(" aborted on route ") ? "aborted" : "rolled_back");
        Optional<Instant> at = h.hasNonNull("at") ? Optional.of(Instant.parse(h.path("at").asText())) : Optional.empty();
        Optional<Integer> version = h.hasNonNull("version") ? Optional.of(h.path("version").asInt()) : Optional.empty();
        List<Map<String, Object>> judged = h.has("judged")
                ? JSON.convertValue(h.path("judged"), new TypeReference<List<Map<String, Object>>>() {}) : List.of();
        return new CanaryEnd(status, at, why, version, judged);
    }

    /**
     * What makes route {@code route}'s canary the same one: its backends' clusters (not their
     * weights), {@code sticky}, {@code canary} and the canary cluster's config; empty when the
     * route has no canary. A digest, so that it can be kept in the state directory.
     */
    static Optional<String> identity(SluiceConfig config, String route) {
        Optional<SplitConfig> split = config.routes().stream().filter(r -> r.name().equals(route)).findFirst()
                .flatMap(RouteConfig::split).filter(s -> s.canary().isPresent());
        if (split.isEmpty()) {
            return Optional.empty();
        }
        String canary = split.get().canary().orElseThrow().cluster();
        Optional<ClusterConfig> cluster = config.clusters().stream().filter(c -> c.name().equals(canary)).findFirst();
        String described = split.get().backends().stream().map(SplitConfig.Backend::cluster).toList() + "|"
                + canonical(split.get().sticky()) + "|" + canonical(split.get().canary()) + "|" + canonical(cluster);
        return Optional.of(ConfigStore.sha256(described));
    }

    /**
     * A config value as text that is the same in every JVM: a record's components in order, a
     * map's entries sorted (the config's maps are {@code Map.copyOf}s, whose order changes from
     * one run to the next), so that a hold kept in the state directory still matches after a restart.
     */
    static String canonical(Object value) {
        return switch (value) {
            case null -> "null";
            case Optional<?> o -> o.map(CanaryHolds::canonical).orElse("none");
            case Map<?, ?> m -> {
                Map<String, String> sorted = new TreeMap<>();
                m.forEach((k, v) -> sorted.put(canonical(k), canonical(v)));
                yield sorted.toString();
            }
            case java.util.Collection<?> c -> c.stream().map(CanaryHolds::canonical).toList().toString();
            case Record r -> ofRecord(r);
            default -> value.toString();
        };
    }

    private static String ofRecord(Record r) {
        StringBuilder text = new StringBuilder(r.getClass().getSimpleName()).append('[');
        for (java.lang.reflect.RecordComponent c : r.getClass().getRecordComponents()) {
            try {
                text.append(c.getName()).append('=').append(canonical(c.getAccessor().invoke(r))).append(',');
            } catch (ReflectiveOperationException e) {
                // A record that is not public: its own text.
                return r.toString();
            }
        }
        return text.append(']').toString();
    }

    /** Route {@code route}'s canary ended at {@code weights}: held from now on against {@code config}'s canary. */
    void hold(String route, SluiceConfig config, Map<String, Integer> weights, CanaryEnd end) {
        Optional<String> identity = identity(config, route);
        if (identity.isEmpty()) {
            return;
        }
        holds.put(route, new Hold(route, identity.get(), new TreeMap<>(weights), end));
        save();
    }

    /** Route {@code route}'s end was recorded as version {@code number}. */
    void recorded(String route, int number) {
        Hold hold = holds.get(route);
        if (hold != null) {
            holds.put(route, new Hold(route, hold.identity(), hold.weights(), hold.end().recordedAs(number)));
            save();
        }
    }

    /** An operator resumed route {@code route}'s canary: nothing holds it. */
    void release(String route) {
        if (holds.remove(route) != null) {
            save();
        }
    }

    /** Route {@code route}'s hold, from any thread. */
    Optional<Hold> of(String route) {
        return Optional.ofNullable(published.get(route));
    }

    /** Route {@code route}'s hold when {@code config} deploys its canary and holds it, from any thread. */
    Optional<Hold> of(String route, SluiceConfig config) {
        return of(route).filter(hold -> identity(config, route).equals(Optional.of(hold.identity()))
                && !settles(config, hold));
    }

    /**
     * {@code text} (parsed as {@code config}) with each held route's weights put back where the
     * config deploys the same canary at other weights; the text unchanged when nothing is held.
     *
     * @throws IllegalArgumentException when a weight is not written as a plain number ({@link SplitWeights})
     */
    Pinned pin(String text, SluiceConfig config) {
        String pinned = text;
        List<String> routes = new ArrayList<>();
        List<String> held = new ArrayList<>();
        for (Hold hold : holds.values()) {
            if (!identity(config, hold.route()).equals(Optional.of(hold.identity()))
                    || weightsOf(config, hold.route()).equals(hold.weights()) || settles(config, hold)) {
                continue;
            }
            pinned = SplitWeights.set(pinned, hold.route(), hold.weights());
            routes.add(hold.route());
            held.add("route " + hold.route() + ": the canary's weights stay " + hold.weights() + " (" + hold.why()
                    + "); " + (hold.end().status().equals("promoted") ? "a config that sets the canary to 0 or 100 "
                    + "itself ends the hold" : "`sluice canary resume " + hold.route() + "` runs it again")
                    + ", as does a change to the route's backends, sticky or canary or to the canary cluster");
        }
        return new Pinned(pinned, routes, held);
    }

    /**
     * {@code applied} is serving: holds whose route no longer has the same canary, or whose canary
     * it sets to 0 or 100 itself, are released, each said once.
     */
    List<String> releaseChanged(SluiceConfig applied) {
        List<String> released = new ArrayList<>();
        holds.values().removeIf(hold -> {
            if (!identity(applied, hold.route()).equals(Optional.of(hold.identity()))) {
                released.add("route " + hold.route() + ": its canary changed, so the weights held since \""
                        + hold.why() + "\" are released");
                return true;
            }
            if (settles(applied, hold)) {
                released.add("route " + hold.route() + ": the config sets its canary to "
                        + canaryWeight(applied, hold.route()).orElseThrow() + "% itself, so the weights held since \""
                        + hold.why() + "\" are released");
                return true;
            }
            return false;
        });
        if (!released.isEmpty()) {
            save();
        }
        return released;
    }

    /**
     * {@code config} sets the held canary to 0 or 100 itself, other than held: it says where the
     * canary stands (retired once promoted, the stable pointed at the new version; or promoted
     * by hand), no run starts from that weight, and holding it would silently keep traffic where
     * the file says none goes.
     */
    private static boolean settles(SluiceConfig config, Hold hold) {
        Optional<Integer> weight = canaryWeight(config, hold.route());
        return weight.isPresent() && (weight.get() == 0 || weight.get() == 100)
                && !weightsOf(config, hold.route()).equals(hold.weights());
    }

    private static Optional<Integer> canaryWeight(SluiceConfig config, String route) {
        return config.routes().stream().filter(r -> r.name().equals(route)).findFirst().flatMap(RouteConfig::split)
                .flatMap(SplitConfig::canaryBackend).map(SplitConfig.Backend::weight);
    }

    private static Map<String, Integer> weightsOf(SluiceConfig config, String route) {
        Map<String, Integer> weights = new TreeMap<>();
        config.routes().stream().filter(r -> r.name().equals(route)).findFirst().flatMap(RouteConfig::split)
                .ifPresent(s -> s.backends().forEach(b -> weights.put(b.cluster(), b.weight())));
        return weights;
    }

    private void save() {
        published = Map.copyOf(holds);
        if (file.isEmpty()) {
            return;
        }
        ArrayNode all = JSON.createArrayNode();
        for (Hold hold : holds.values()) {
            ObjectNode h = all.addObject();
            h.put("route", hold.route());
            h.put("identity", hold.identity());
            ObjectNode weights = h.putObject("weights");
            hold.weights().forEach(weights::put);
            h.put("why", hold.why());
            h.put("status", hold.end().status());
            hold.end().at().ifPresent(at -> h.put("at", at.toString()));
            hold.end().version().ifPresent(v -> h.put("version", v));
            h.set("judged", JSON.valueToTree(hold.end().judged()));
        }
        Path target = file.get();
        Path tmp = target.resolveSibling(FILE + ".tmp");
        try {
            Files.writeString(tmp, all.toPrettyString() + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("cannot record the canary holds in {}: {}; they hold until a restart", target, e.getMessage());
        }
    }
}
