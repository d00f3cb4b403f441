package dev.sluice.control;

import dev.sluice.config.ConfigStore;
import dev.sluice.config.ConfigVersion;
import dev.sluice.observe.GatewayMetrics;
import java.util.List;

/**
 * The config's metrics: which version serves and how it fared, the last known good, and what the
 * control plane refused and rolled back. Read from the control plane at each scrape.
 */
public final class ConfigMetrics {
    private ConfigMetrics() {}

    public static void register(GatewayMetrics metrics, ControlPlane control, ConfigStore store) {
        metrics.gauges("sluice_config_version", "The number of the config version serving now", List.of(),
                rows -> {
                    ConfigVersion now = control.current();
                    if (now != null) {
                        rows.add(now.number());
                    }
                });
        metrics.gauges("sluice_config_outcome", "1 for the outcome of the version serving now (baking, good, bad, "
                + "replaced, rolled_back), 0 for the others", List.of("outcome"), rows -> {
                    ConfigVersion current = control.current();
                    ConfigVersion.Outcome now = current == null ? null : current.outcome();
                    for (ConfigVersion.Outcome outcome : ConfigVersion.Outcome.values()) {
                        rows.add(outcome == now ? 1 : 0, outcome.label());
                    }
                });
        metrics.gauges("sluice_config_last_known_good", "The number of the last version judged good (0: none yet)",
                List.of(), rows -> rows.add(store.lastKnownGood().map(ConfigVersion::number).orElse(0)));
        metrics.counters("sluice_config_refused", "Configs refused (invalid, or failing to apply); the running "
                + "version kept serving", List.of(), rows -> rows.add(control.refusals()));
        metrics.counters("sluice_config_judged_bad", "Versions judged bad at the end of their bake period "
                + "(their gateway error ratio rose)", List.of(), rows -> rows.add(control.judgedBad()));
        metrics.counters("sluice_config_rollbacks", "Rollbacks that changed the running config, by trigger "
                + "(operator: POST /rollback or `sluice rollback`; auto: auto_rollback after a bad judgement)",
                List.of("trigger"), rows -> {
                    rows.add(control.rollbacks(false), "operator");
                    rows.add(control.rollbacks(true), "auto");
                });
    }
}
