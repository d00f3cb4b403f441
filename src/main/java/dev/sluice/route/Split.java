package dev.sluice.route;

import dev.sluice.config.SplitConfig;
import java.util.List;
import java.util.Optional;

/**
 * A route's backends and their weights now. The weights start as the config wrote them; a
 * canary's move while the route serves ({@link #setCanaryWeight}, from the canary thread), and
 * each request reads them once (one volatile read) in the route step.
 *
 * <p>The choice maps a point in {@code [0, total)} onto the backends' ranges in order, the
 * canary's range first: a sticky user whose point falls in the canary's range at 5% is still in
 * it at 25%, so a rising canary takes new users and never sends one back to the stable.
 */
public final class Split {
    private final SplitConfig config;
    /** Cluster names in choice order: the canary first, then the others as written. */
    private final String[] clusters;
    private final int canaryIndex;
    private volatile int[] weights;

    public Split(SplitConfig config) {
        this.config = config;
        List<SplitConfig.Backend> ordered = new java.util.ArrayList<>(config.backends());
        config.canaryBackend().ifPresent(canary -> {
            ordered.remove(canary);
            ordered.addFirst(canary);
        });
        this.clusters = ordered.stream().map(SplitConfig.Backend::cluster).toArray(String[]::new);
        this.canaryIndex = config.canary().isPresent() ? 0 : -1;
        this.weights = ordered.stream().mapToInt(SplitConfig.Backend::weight).toArray();
    }

    public SplitConfig config() {
        return config;
    }

    /**
     * The cluster for a request whose point is {@code point} (any long: a sticky key's hash, or a
     * random draw); never a backend of weight 0.
     */
    public String choose(long point) {
        int[] w = weights;
        int total = 0;
        for (int x : w) {
            total += x;
        }
        long at = Math.floorMod(point, (long) total);
        for (int i = 0; i < w.length; i++) {
            at -= w[i];
            if (at < 0) {
                return clusters[i];
            }
        }
        throw new AssertionError("weights add up to " + total);
    }

    /** The canary's weight now, in percent; empty for a split without a canary. */
    public Optional<Integer> canaryWeight() {
        return canaryIndex < 0 ? Optional.empty() : Optional.of(weights[canaryIndex]);
    }

    /** Moves the canary to {@code percent} and the stable to the rest: one write, seen by the next request. */
    public void setCanaryWeight(int percent) {
        if (canaryIndex < 0 || percent < 0 || percent > 100) {
            throw new IllegalArgumentException("canary weight " + percent + " on a split " + config);
        }
        int[] next = new int[clusters.length];
        next[canaryIndex] = percent;
        next[1 - canaryIndex] = 100 - percent;
        weights = next;
    }

    /** Each backend's weight now, in config order. */
    public List<SplitConfig.Backend> weightsNow() {
        int[] w = weights;
        return config.backends().stream().map(b -> {
            for (int i = 0; i < clusters.length; i++) {
                if (clusters[i].equals(b.cluster())) {
                    return new SplitConfig.Backend(b.cluster(), w[i]);
                }
            }
            throw new AssertionError(b.cluster());
        }).toList();
    }
}
