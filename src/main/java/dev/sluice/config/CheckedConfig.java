package dev.sluice.config;

import java.util.List;

/** A valid config and the warnings found while checking it (legal settings known to cause failures). */
public record CheckedConfig(SluiceConfig config, List<ConfigWarning> warnings) {
    public CheckedConfig {
        warnings = List.copyOf(warnings);
    }
}
