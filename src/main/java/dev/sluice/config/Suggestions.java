package dev.sluice.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/** "Did you mean" for misspelt keys and names: the closest candidate within a small edit distance. */
final class Suggestions {
    private Suggestions() {}

    /** " (did you mean 'x'?)", or "" when nothing is close enough to be a likely typo. */
    static String didYouMean(String input, Collection<String> candidates) {
        return closest(input, candidates).map(c -> " (did you mean '" + c + "'?)").orElse("");
    }

    static Optional<String> closest(String input, Collection<String> candidates) {
        String bestCandidate = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            int distance = distance(input, candidate);
            if (distance < bestDistance) {
                bestDistance = distance;
                bestCandidate = candidate;
            }
        }
        // Two edits catch typos and a missing '_'; past a third of the word it is a different word.
        boolean close = bestCandidate != null && bestDistance <= Math.min(2, Math.max(1, input.length() / 3));
        return close ? Optional.of(bestCandidate) : Optional.empty();
    }

    /**
     * Levenshtein distance, but 0 when the two differ only in case and separators, so that
     * {@code pathPrefix} and {@code path-prefix} both lead to {@code path_prefix}.
     */
    static int distance(String a, String b) {
        if (normalized(a).equals(normalized(b))) {
            return 0;
        }
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static String normalized(String s) {
        return s.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }
}
