package dev.sluice.control;

import dev.sluice.config.AdminConfig;
import dev.sluice.config.SluiceConfig;
import java.util.ArrayList;
import java.util.List;

/** Settings only a restart applies: a reload says so rather than ignoring them silently. */
final class RestartOnlySettings {
    private RestartOnlySettings() {}

    /** One note per such setting that {@code after} changes. */
    static List<String> changed(SluiceConfig before, SluiceConfig after) {
        List<String> notes = new ArrayList<>();
        if (!before.admin().map(AdminConfig::address).equals(after.admin().map(AdminConfig::address))) {
            notes.add("the admin address change takes effect at the next restart");
        }
        if (!before.admin().map(AdminConfig::token).equals(after.admin().map(AdminConfig::token))) {
            notes.add("the admin token change takes effect at the next restart; the running admin API still wants "
                    + "the token it started with");
        }
        if (!before.server().equals(after.server())) {
            notes.add("the 'server' section change takes effect at the next restart");
        }
        if (!before.accessLog().equals(after.accessLog())) {
            notes.add("the 'access_log' change takes effect at the next restart");
        }
        return notes;
    }
}
