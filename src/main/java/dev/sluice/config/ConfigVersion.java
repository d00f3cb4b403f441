package dev.sluice.config;

import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One applied config in the {@link ConfigStore}: its number, when and from where it was applied,
 * the SHA-256 of its text, and how it fared.
 *
 * @param source what applied it, e.g. {@code file sluice.yaml (SIGHUP)}, {@code POST /config},
 *     {@code rollback to version 3}
 * @param restoredFrom the version whose text this one restored (a rollback, or a start from the
 *     last known good), or empty
 * @param requests requests served while this version was current (over its bake period, or until
 *     it was replaced); 0 when Sluice has no traffic counters
 * @param localReplies of those, the ones Sluice answered itself with an error ({@code x-sluice-error})
 * @param note why the outcome is what it is, in words
 */
public record ConfigVersion(
        int number,
        Instant appliedAt,
        String source,
        String sha256,
        Outcome outcome,
        Optional<Integer> restoredFrom,
        long requests,
        long localReplies,
        String note) {

    /** How an applied version fared. Only {@link #GOOD} versions are candidates for "last known good". */
    public enum Outcome {
        /** Serving, and its bake period is not over. */
        BAKING,
        /** Served its bake period without its gateway error ratio rising above the previous version's. */
        GOOD,
        /** Its gateway error ratio rose above the previous version's during its bake period. */
        BAD,
        /** Replaced by a newer config before its bake period ended. */
        REPLACED,
        /** An operator rolled back away from it. */
        ROLLED_BACK;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Outcome ofLabel(String label) {
            return valueOf(label.toUpperCase(Locale.ROOT));
        }
    }

    /** Gateway-generated errors per request while it served, or empty without traffic to judge. */
    public Optional<Double> errorRatio() {
        return requests == 0 ? Optional.empty() : Optional.of((double) localReplies / requests);
    }

    public String shortHash() {
        return sha256.substring(0, 12);
    }

    /** This version with a new outcome and the traffic it served. */
    public ConfigVersion withOutcome(Outcome outcome, long requests, long localReplies, String note) {
        return new ConfigVersion(number, appliedAt, source, sha256, outcome, restoredFrom, requests, localReplies, note);
    }
}
