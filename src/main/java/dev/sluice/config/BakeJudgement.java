package dev.sluice.config;

import dev.sluice.config.ConfigVersion.Outcome;
import java.util.Locale;
import java.util.Optional;

/**
 * The verdict on a config version at the end of its bake period: {@link Outcome#GOOD} (a
 * candidate for "last known good") unless its gateway error ratio (local error replies per
 * request) rose above the previous version's.
 *
 * @param note the reason, in words, for the history and the log
 */
public record BakeJudgement(Outcome outcome, String note) {
    /** Fewer requests than this over a bake period say nothing about an error ratio: one error is already 1 %. */
    public static final long MIN_REQUESTS_TO_JUDGE = 100;
    /** 0.1 percentage point: how much worse than the previous version a new one may be before it is
     * called worse, so that noise (a client's bad requests) does not condemn it. */
    public static final double RATIO_TOLERANCE = 0.001;

    /**
     * @param countersAvailable false when the gateway counts nothing: then time alone decides
     * @param requests requests served during the bake period
     * @param localReplies of those, the ones Sluice answered itself with an error
     * @param previous the version that served before, with what it served
     */
    public static BakeJudgement judge(boolean countersAvailable, long requests, long localReplies,
                                      Optional<ConfigVersion> previous) {
        if (!countersAvailable) {
            return new BakeJudgement(Outcome.GOOD, "served its bake period without a rollback (judged on time only: "
                    + "no traffic counters)");
        }
        if (requests < MIN_REQUESTS_TO_JUDGE) {
            return new BakeJudgement(Outcome.GOOD, "served its bake period; too little traffic to compare error "
                    + "ratios (" + requests + " requests)");
        }
        double ratio = (double) localReplies / requests;
        Optional<ConfigVersion> comparable = previous.filter(p -> p.requests() >= MIN_REQUESTS_TO_JUDGE);
        if (comparable.isEmpty()) {
            return new BakeJudgement(Outcome.GOOD, "served its bake period; gateway error ratio " + percent(ratio)
                    + ", no previous version with traffic to compare with");
        }
        double before = comparable.get().errorRatio().orElse(0.0);
        if (ratio > before + RATIO_TOLERANCE) {
            return new BakeJudgement(Outcome.BAD, "gateway error ratio " + percent(ratio) + " is above version "
                    + comparable.get().number() + "'s " + percent(before));
        }
        return new BakeJudgement(Outcome.GOOD, "served its bake period; gateway error ratio " + percent(ratio)
                + " (version " + comparable.get().number() + ": " + percent(before) + ")");
    }

    private static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.2f%%", ratio * 100);
    }
}
