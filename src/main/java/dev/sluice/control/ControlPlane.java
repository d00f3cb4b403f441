package dev.sluice.control;

import dev.sluice.config.BakeJudgement;
import dev.sluice.config.CheckedConfig;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigProblem;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.ConfigVersion.Outcome;
import dev.sluice.config.ConfigWarning;
import dev.sluice.config.DrainConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.observe.TrafficCounters;
import dev.sluice.server.Drain;
import dev.sluice.server.Gateway;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane: changes to the running config of the gateway (the data plane) — reload
 * from the file, a config pushed over the admin API, rollback to a stored version — and the bake
 * that judges each version. All three go through {@link #apply}: the text is parsed and
 * validated whole, the listeners are reconciled (all or nothing), and only then are routes and
 * clusters swapped in with one write. A config that fails any step is refused, and the running
 * one keeps serving. Each applied config becomes a version in the {@link ConfigStore}, and bakes:
 * after the bake period it is judged "good" unless its gateway error ratio rose, and a "bad" one is
 * rolled back to the last known good at once when auto-rollback is on.
 *
 * <p>Runs on the admin and signal threads, never on an event loop; one change at a time.
 */
public final class ControlPlane {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlane.class);

    /**
     * A version judged bad and rolled back without an operator.
     *
     * @param bad the version judged bad, with its outcome and note
     * @param restored the version now serving, restored from the last known good
     * @param why the judgement
     */
    public record AutoRollback(ConfigVersion bad, ConfigVersion restored, String why) {}

    /** What a config change came to. */
    public sealed interface Result {
        /** Applied (or already running: {@code unchanged}). */
        record Applied(ConfigVersion version, boolean unchanged, List<ConfigWarning> warnings,
                       Gateway.ListenerChanges listeners, List<String> notes) implements Result {}

        /** Refused; the running config keeps serving. {@code status} is the admin API's answer. */
        record Refused(int status, String reason, List<ConfigProblem> errors, List<ConfigWarning> warnings)
                implements Result {}
    }

    private final Gateway gateway;
    private final ConfigStore store;
    private final Optional<Path> configFile;
    private final Duration bakePeriod;
    private final TrafficCounters counters;
    private final ScheduledExecutorService timer;
    private final Clock clock;
    private final BooleanSupplier draining;
    private final boolean autoRollbackForced;
    /** The weights canaries ended at, held against configs that deploy the same canary again. */
    private final CanaryHolds holds;
    /** Told of each automatic rollback (the incident watch records it as an incident and alerts). */
    private volatile java.util.function.Consumer<AutoRollback> autoRollbacks = rollback -> {};
    /** Told of each swap (the canaries start a new run's first step at its version's time). */
    private volatile ConfigSwaps swaps = ConfigSwaps.NONE;

    private ConfigVersion current;
    private String currentText;
    /** For the metrics (ConfigMetrics): configs refused, versions judged bad, rollbacks by an operator and automatic. */
    private final java.util.concurrent.atomic.AtomicLong refusals = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong judgedBad = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong operatorRollbacks = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong autoRollbackCount = new java.util.concurrent.atomic.AtomicLong();
    private ScheduledFuture<?> bake;
    private long bakeStartRequests;
    private long bakeStartLocalReplies;

    public ControlPlane(Gateway gateway, ConfigStore store, Optional<Path> configFile, Duration bakePeriod,
                 TrafficCounters counters, ScheduledExecutorService timer, Clock clock, BooleanSupplier draining) {
        this(gateway, store, configFile, bakePeriod, counters, timer, clock, draining, false);
    }

    /**
     * @param autoRollbackForced {@code run --auto-rollback}: a version judged bad is rolled back
     *     whatever its {@code versions.auto_rollback} says
     */
    public ControlPlane(Gateway gateway, ConfigStore store, Optional<Path> configFile, Duration bakePeriod,
                 TrafficCounters counters, ScheduledExecutorService timer, Clock clock, BooleanSupplier draining,
                 boolean autoRollbackForced) {
        this.autoRollbackForced = autoRollbackForced;
        this.gateway = gateway;
        this.store = store;
        this.configFile = configFile;
        this.bakePeriod = bakePeriod;
        this.counters = counters;
        this.timer = timer;
        this.clock = clock;
        this.draining = draining;
        this.holds = CanaryHolds.of(store);
    }

    /**
     * The config an instance starts with, with the weights of the canaries that ended held as
     * {@link CanaryHolds} says (kept in {@code store}'s directory): a restart from a file that
     * still starts a canary that was rolled back keeps it at 0. The text unchanged when nothing is held.
     */
    public static String heldAtStart(ConfigStore store, String text, SluiceConfig config) {
        try {
            CanaryHolds.Pinned pinned = CanaryHolds.of(store).pin(text, config);
            pinned.held().forEach(h -> LOG.warn("{}", h));
            return pinned.text();
        } catch (IllegalArgumentException e) {
            LOG.warn("cannot hold the canaries' weights in the config: {}; it starts as written", e.getMessage());
            return text;
        }
    }

    /**
     * Records the config the gateway started with. A restart with the text of the version that
     * was current keeps that version (and its "good" standing); anything else is a new version.
     */
    public synchronized void started(String text, String source, Optional<Integer> restoredFrom) {
        holds.releaseChanged(gateway.snapshot().config()).forEach(r -> LOG.info("{}", r));
        String hash = ConfigStore.sha256(text);
        Optional<ConfigVersion> previous = store.current();
        currentText = text;
        try {
            if (previous.isPresent() && previous.get().sha256().equals(hash) && restoredFrom.isEmpty()
                    && (previous.get().outcome() == Outcome.GOOD || previous.get().outcome() == Outcome.BAKING)) {
                store.makeCurrent(previous.get().number());
                current = previous.get();
                LOG.info("config version {} (unchanged since the last run, {})", current.number(), current.outcome().label());
                if (current.outcome() == Outcome.BAKING) {
                    startBaking();
                }
                return;
            }
            previous.filter(p -> p.outcome() == Outcome.BAKING).ifPresent(p -> record(p.number(), Outcome.REPLACED,
                    p.requests(), p.localReplies(), "replaced at a restart before its bake period ended"));
            current = store.add(text, source, clock.instant(), restoredFrom);
        } catch (IOException e) {
            LOG.error("cannot record the config in {}: {}; versions are kept in memory only", stateDir(), e.getMessage());
            current = store.current().orElseGet(() -> new ConfigVersion(0, clock.instant(), source,
                    hash, Outcome.BAKING, restoredFrom, 0, 0, "not recorded"));
        }
        LOG.info("config version {} from {} (sha256 {})", current.number(), source, current.shortHash());
        startBaking();
    }

    /** Where automatic rollbacks are reported, once each, after they are applied and recorded. */
    public void reportAutoRollbacksTo(java.util.function.Consumer<AutoRollback> to) {
        this.autoRollbacks = to;
    }

    /** Where each config swapped in is reported ({@link ConfigSwaps}: without blocking). */
    public void reportSwapsTo(ConfigSwaps to) {
        this.swaps = to;
    }

    public synchronized ConfigVersion current() {
        return current;
    }

    /** Configs refused (invalid, or failing to apply) since start. */
    long refusals() {
        return refusals.get();
    }

    /** Versions judged bad at the end of their bake period since start. */
    long judgedBad() {
        return judgedBad.get();
    }

    /** Rollbacks since start that changed the running config: automatic ones, or asked by an operator. */
    long rollbacks(boolean automatic) {
        return (automatic ? autoRollbackCount : operatorRollbacks).get();
    }

    synchronized String currentText() {
        return currentText;
    }

    ConfigStore store() {
        return store;
    }

    /** The drain settings of the running config: what a drain started now will use. */
    DrainConfig drainConfig() {
        return gateway.snapshot().config().drain();
    }

    Optional<Path> configFile() {
        return configFile;
    }

    /** True when the file on disk no longer holds the running config (after a rollback, or an edit not yet reloaded). */
    public boolean fileDiffersFromRunning() {
        if (configFile.isEmpty()) {
            return false;
        }
        try {
            return !ConfigStore.sha256(ConfigLoader.read(configFile.get())).equals(current().sha256());
        } catch (ConfigException unreadable) {
            return true;
        }
    }

    /** SIGHUP and {@code POST /reload}: the config file again. */
    public Result reloadFile(String trigger) {
        if (configFile.isEmpty()) {
            return new Result.Refused(409, "there is no config file to reload (this instance runs an embedded config)",
                    List.of(), List.of());
        }
        String text;
        try {
            text = ConfigLoader.read(configFile.get());
        } catch (ConfigException e) {
            return refuse(e, "", "file " + configFile.get() + " (" + trigger + ")");
        }
        return apply(text, configFile.get().toString(), "file " + configFile.get() + " (" + trigger + ")",
                Optional.empty());
    }

    /** {@code POST /config}: a whole config in the request body. */
    Result applyPosted(String text) {
        return apply(text, "<POST /config>", "POST /config", Optional.empty());
    }

    /**
     * {@code POST /rollback[?to=N]}: version N, or else the newest "good" version other than the
     * running one, or else (nothing has finished baking yet) the version before the running one.
     */
    synchronized Result rollback(Optional<Integer> to) {
        ConfigVersion target;
        String why;
        if (to.isPresent()) {
            Optional<ConfigVersion> asked = store.version(to.get());
            if (asked.isEmpty()) {
                return new Result.Refused(404, "there is no version " + to.get() + "; see GET /config/versions",
                        List.of(), List.of());
            }
            target = asked.get();
            why = "as asked";
        } else {
            Optional<ConfigVersion> good = store.versions().stream()
                    .filter(v -> v.outcome() == Outcome.GOOD && !v.sha256().equals(current.sha256()))
                    .reduce((a, b) -> b);
            Optional<ConfigVersion> before = store.before(current.number());
            if (good.isPresent()) {
                target = good.get();
                why = "the last known good";
            } else if (before.isPresent()) {
                target = before.get();
                why = "the previous version; no other version has finished its bake period";
            } else {
                return new Result.Refused(409, "there is no earlier version to roll back to", List.of(), List.of());
            }
        }
        Result result = restore(target, "rollback to version " + target.number() + " (" + why + ")");
        if (result instanceof Result.Applied applied && !applied.unchanged()) {
            operatorRollbacks.incrementAndGet();
        }
        if (result instanceof Result.Applied applied && !applied.unchanged() && fileDiffersFromRunning()) {
            LOG.warn("rolled back to version {}, but {} holds another config, which a reload (SIGHUP, POST /reload) "
                    + "would apply again: fix the file", target.number(), configFile.get());
        }
        return result;
    }

    /**
     * A canary's weights moved for good (rolled back, promoted, or as an operator asked): the
     * running text with route {@code route}'s weights changed (and nothing else,
     * {@link dev.sluice.config.SplitWeights}) is applied as a new version whose source says why,
     * and the weights are held against later configs that deploy the same canary ({@link CanaryHolds}),
     * with {@code end} and the version's number, for {@link #canaryHeld}.
     */
    public synchronized Result applySplitWeights(String route, java.util.Map<String, Integer> weights, CanaryEnd end) {
        holds.hold(route, gateway.snapshot().config(), weights, end);
        Result result = applyWeights(route, weights, end.why());
        if (result instanceof Result.Applied applied) {
            holds.recorded(route, applied.version().number());
        }
        return result;
    }

    /**
     * {@code sluice canary resume}: route {@code route}'s hold is released and its canary set to
     * {@code weights} (its first step), recorded as a version; the canary runs again from there.
     */
    public synchronized Result resumeCanary(String route, java.util.Map<String, Integer> weights, String why) {
        holds.release(route);
        return applyWeights(route, weights, why);
    }

    private Result applyWeights(String route, java.util.Map<String, Integer> weights, String why) {
        String text;
        try {
            text = dev.sluice.config.SplitWeights.set(currentText, route, weights);
        } catch (IllegalArgumentException e) {
            LOG.error("cannot record the new weights of route {} ({}): {}", route, why, e.getMessage());
            return new Result.Refused(500, e.getMessage(), List.of(), List.of());
        }
        Result result = apply(text, "<" + why + ">", why, Optional.empty());
        if (result instanceof Result.Applied applied && !applied.unchanged() && fileDiffersFromRunning()) {
            LOG.info("route {}: {}; recorded as version {}; {} still holds the old weights, which a reload applies "
                    + "held as they are now (see `sluice canary resume`)", route, why, applied.version().number(),
                    configFile.get());
        }
        return result;
    }

    /**
     * How route {@code route}'s canary ended, when the running config deploys it held at the
     * weights it ended at (over reloads and restarts); from any thread.
     */
    public Optional<CanaryEnd> canaryHeld(String route) {
        return holds.of(route, gateway.snapshot().config()).map(CanaryHolds.Hold::end);
    }

    /** Applies the stored text of {@code target} again, as a new version restored from it. */
    private Result restore(ConfigVersion target, String source) {
        Optional<String> text;
        try {
            text = store.text(target.number());
        } catch (IOException e) {
            return new Result.Refused(500, "cannot read version " + target.number() + ": " + e.getMessage(),
                    List.of(), List.of());
        }
        if (text.isEmpty()) {
            return new Result.Refused(410, "the text of version " + target.number() + " is no longer kept",
                    List.of(), List.of());
        }
        return apply(text.get(), store.textLocation(target.number()), source, Optional.of(target.number()));
    }

    /** Parse, validate, reconcile listeners, swap; or refuse and change nothing. */
    synchronized Result apply(String text, String sourceName, String source, Optional<Integer> restoredFrom) {
        if (draining.getAsBoolean()) {
            return new Result.Refused(409, "shutting down: config changes are refused while draining", List.of(), List.of());
        }
        CheckedConfig checked;
        try {
            checked = ConfigLoader.parseWithWarnings(text, sourceName);
        } catch (ConfigException e) {
            return refuse(e, text, source);
        }
        checked.warnings().forEach(w -> LOG.warn("{}", w));
        CanaryHolds.Pinned pinned;
        try {
            pinned = holds.pin(text, checked.config());
        } catch (IllegalArgumentException e) {
            LOG.warn("cannot hold the canaries' weights in the config from {}: {}; it is applied as written", source,
                    e.getMessage());
            pinned = new CanaryHolds.Pinned(text, List.of(), List.of());
        }
        List<String> held = pinned.held();
        if (pinned.changed()) {
            held.forEach(h -> LOG.warn("{}", h));
            text = pinned.text();
            source = source + "; canary weights held on route(s) " + String.join(", ", pinned.routes());
            try {
                checked = ConfigLoader.parseWithWarnings(text, sourceName);
            } catch (ConfigException e) {
                return refuse(e, text, source);
            }
        }
        String hash = ConfigStore.sha256(text);
        if (hash.equals(current.sha256())) {
            // The same text may name certificate files renewed since: served from the next handshake on.
            try {
                gateway.reconcileListeners(checked.config().listeners());
            } catch (IllegalStateException e) {
                LOG.error("refused config from {}: {}; version {} keeps serving", source, e.getMessage(), current.number());
                return new Result.Refused(409, e.getMessage() + "; version " + current.number() + " keeps serving",
                        List.of(), checked.warnings());
            }
            LOG.info("config from {} is the running version {}; nothing to change", source, current.number());
            return new Result.Applied(current, true, checked.warnings(),
                    new Gateway.ListenerChanges(List.of(), List.of(), List.of()), held);
        }
        SluiceConfig next = checked.config();
        SluiceConfig previous = gateway.snapshot().config();
        Gateway.ListenerChanges listeners;
        try {
            listeners = gateway.reconcileListeners(next.listeners());
        } catch (IllegalStateException e) {
            String reason = e.getMessage() + "; version " + current.number() + " keeps serving";
            LOG.error("refused config from {}: {}", source, reason);
            recordRefusal(text, source, List.of(e.getMessage()));
            return new Result.Refused(409, reason, List.of(), checked.warnings());
        }
        Instant at = clock.instant();
        try {
            swaps.swapping(at);
            gateway.apply(next);
        } catch (Gateway.NotApplied e) {
            LOG.warn("config from {} not applied: {}; version {} keeps serving", source, e.getMessage(),
                    current.number());
            gateway.reconcileListeners(previous.listeners());
            return new Result.Refused(409, e.getMessage() + "; version " + current.number() + " keeps serving",
                    List.of(), checked.warnings());
        } catch (RuntimeException e) {
            // A validated config that still cannot be built is a bug; leave everything as it was.
            LOG.error("cannot apply the config from {}; version {} keeps serving", source, current.number(), e);
            gateway.reconcileListeners(previous.listeners());
            return new Result.Refused(500, "cannot apply: " + e + "; version " + current.number() + " keeps serving",
                    List.of(), checked.warnings());
        }
        if (!listeners.removed().isEmpty()) {
            drainRetiredListeners(next.drain().timeout());
        }
        List<String> notes = RestartOnlySettings.changed(previous, next);
        notes.forEach(n -> LOG.warn("{}", n));
        notes.addAll(held);
        List<String> released = holds.releaseChanged(next);
        released.forEach(r -> LOG.info("{}", r));
        notes.addAll(released);

        long requests = counters.requests() - bakeStartRequests;
        long localReplies = bakeLocalReplies(requests);
        if (bake != null) {
            bake.cancel(false);
        }
        if (restoredFrom.isPresent() && source.startsWith("rollback")) {
            record(current.number(), Outcome.ROLLED_BACK, requests, localReplies, "rolled back to version " + restoredFrom.get());
        } else if (current.outcome() == Outcome.BAKING) {
            record(current.number(), Outcome.REPLACED, requests, localReplies, "replaced before its bake period ended");
        }
        try {
            current = store.add(text, source, at, restoredFrom);
        } catch (IOException e) {
            LOG.error("applied, but cannot record the config in {}: {}", stateDir(), e.getMessage());
            current = store.current().orElse(current);
        }
        currentText = text;
        startBaking();
        LOG.info("applied config version {} from {} (sha256 {}){}", current.number(), source, current.shortHash(),
                listeners.any() ? "; listeners added " + listeners.added() + ", removed " + listeners.removed() : "");
        swaps.swapped();
        return new Result.Applied(current, false, checked.warnings(), listeners, notes);
    }

    private Result refuse(ConfigException e, String text, String source) {
        LOG.error("refused config from {}; version {} keeps serving:\n{}", source,
                current == null ? "-" : current.number(), e.getMessage());
        recordRefusal(text, source, e.problems().stream().map(ConfigProblem::toString).toList());
        return new Result.Refused(400, "invalid config; version " + (current == null ? "-" : current.number())
                + " keeps serving", e.problems(), List.of());
    }

    private void recordRefusal(String text, String source, List<String> errors) {
        refusals.incrementAndGet();
        try {
            store.refused(text, source, clock.instant(), errors);
        } catch (IOException io) {
            LOG.warn("cannot record the refused config in {}: {}", stateDir(), io.getMessage());
        }
    }

    private void record(int number, Outcome outcome, long requests, long localReplies, String note) {
        try {
            ConfigVersion updated = store.update(number, v -> v.withOutcome(outcome, requests, localReplies, note));
            if (current != null && current.number() == number) {
                current = updated;
            }
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("cannot record the outcome of version {}: {}", number, e.getMessage());
        }
    }

    /**
     * Local error replies since the bake began, never more than the requests: the two totals are
     * separate counters read one after the other while traffic flows, so a reply counted between
     * the two reads can lack its request (a 100.02% error ratio was seen under load).
     */
    private long bakeLocalReplies(long requests) {
        return Math.min(counters.localReplies() - bakeStartLocalReplies, requests);
    }

    private void startBaking() {
        bakeStartRequests = counters.requests();
        bakeStartLocalReplies = counters.localReplies();
        int number = current.number();
        bake = timer.schedule(() -> finishBake(number), bakePeriod.toMillis(), TimeUnit.MILLISECONDS);
    }

    private synchronized void finishBake(int number) {
        if (current.number() != number || current.outcome() != Outcome.BAKING) {
            return;
        }
        long requests = counters.requests() - bakeStartRequests;
        long localReplies = bakeLocalReplies(requests);
        BakeJudgement judgement = BakeJudgement.judge(counters.available(), requests, localReplies, store.before(number));
        record(number, judgement.outcome(), requests, localReplies, judgement.note());
        if (judgement.outcome() == Outcome.BAD) {
            judgedBad.incrementAndGet();
        }
        if (judgement.outcome() == Outcome.GOOD) {
            LOG.info("config version {} is now the last known good: {}", number, judgement.note());
        } else if (autoRollbackForced || gateway.snapshot().config().versions().autoRollback()) {
            rollBackAutomatically(number, judgement, requests, localReplies);
        } else {
            LOG.warn("config version {} is not marked good: {}; roll back with `sluice rollback` or POST /rollback",
                    number, judgement.note());
        }
    }

    /**
     * A version judged bad, with auto-rollback on: the last known good is applied again at once,
     * as a new version whose source says who and why; the bad one keeps its outcome, and its note
     * says where it went. One log line either way.
     */
    private void rollBackAutomatically(int number, BakeJudgement judgement, long requests, long localReplies) {
        Optional<ConfigVersion> good = store.versions().stream()
                .filter(v -> v.outcome() == Outcome.GOOD && !v.sha256().equals(current.sha256()))
                .reduce((a, b) -> b);
        if (good.isEmpty()) {
            LOG.warn("config version {} was judged bad: {}; auto-rollback found no last known good to restore, so it "
                    + "keeps serving", number, judgement.note());
            return;
        }
        int target = good.get().number();
        Result result = restore(good.get(), "auto-rollback to version " + target + " (the last known good): version "
                + number + " was judged bad: " + judgement.note());
        switch (result) {
            case Result.Applied applied -> {
                autoRollbackCount.incrementAndGet();
                record(number, Outcome.BAD, requests, localReplies, judgement.note()
                        + "; rolled back automatically to version " + target + " (as version " + applied.version().number() + ")");
                LOG.warn("config version {} was judged bad: {}; auto-rollback: now serving version {}, restored from "
                        + "version {} (the last known good){}", number, judgement.note(), applied.version().number(),
                        target, fileDiffersFromRunning() ? "; " + configFile.map(Path::toString).orElse("the config file")
                                + " still holds the bad config, which a reload would apply again: fix the file" : "");
                ConfigVersion bad = store.version(number).orElse(applied.version());
                autoRollbacks.accept(new AutoRollback(bad, applied.version(), judgement.note()));
            }
            case Result.Refused refused -> LOG.error("config version {} was judged bad: {}; auto-rollback to version {} "
                    + "was refused ({}), so it keeps serving", number, judgement.note(), target, refused.reason());
        }
    }

    /**
     * Connections accepted by removed listeners end after their next response (which says
     * {@code Connection: close}); those still idle after each {@link Drain#IDLE_GRACE} are closed,
     * and any left at {@code timeout} are cut.
     */
    private void drainRetiredListeners(Duration timeout) {
        Thread.ofPlatform().daemon().name("sluice-listener-drain").start(() -> {
            long deadline = System.nanoTime() + timeout.toNanos();
            try {
                while (gateway.retiredListenerConnections() > 0 && System.nanoTime() - deadline < 0) {
                    // Pacing, not synchronisation: a connection still open after a grace is idle in fact.
                    Thread.sleep(Drain.IDLE_GRACE.toMillis());
                    gateway.closeIdleRetiredListenerConnections();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            int left = gateway.retiredListenerConnections();
            if (left > 0) {
                LOG.warn("closing {} connections of removed listeners still open after {} ms", left, timeout.toMillis());
                gateway.closeRetiredListenerConnections();
            }
        });
    }

    private String stateDir() {
        return store.directory().map(Path::toString).orElse("memory");
    }

    public synchronized void close() {
        if (bake != null) {
            bake.cancel(false);
        }
    }
}
