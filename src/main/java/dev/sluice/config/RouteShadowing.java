package dev.sluice.config;

import java.util.Map;
import java.util.Optional;

/**
 * Whether one route's match takes every request another's would. Routes are tried in file order,
 * so a later route covered by an earlier one never gets a request: almost always a mistake
 * (a catch-all above a specific route), and one that is silent at run time.
 */
final class RouteShadowing {
    private RouteShadowing() {}

    /** True when every request {@code later} matches is also matched by {@code earlier}. */
    static boolean covers(MatchConfig earlier, MatchConfig later) {
        return hostCovers(earlier.host(), later.host())
                && pathCovers(earlier, later)
                && (earlier.methods().isEmpty()
                        || !later.methods().isEmpty() && earlier.methods().containsAll(later.methods()))
                && headersCover(earlier.headers(), later.headers());
    }

    /** Hosts are stored lower-cased; {@code *.x} matches any name ending in {@code .x}, never {@code x}. */
    private static boolean hostCovers(Optional<String> earlier, Optional<String> later) {
        if (earlier.isEmpty()) {
            return true;
        }
        if (later.isEmpty()) {
            return false;
        }
        String e = earlier.get();
        String l = later.get();
        if (e.equals(l)) {
            return true;
        }
        // "*.example.com" covers "a.example.com" and "*.a.example.com", not "example.com".
        return e.startsWith("*.") && l.endsWith(e.substring(1)) && l.length() > e.length() - 1;
    }

    private static boolean pathCovers(MatchConfig earlier, MatchConfig later) {
        if (earlier.path().isPresent()) {
            return later.path().equals(earlier.path());
        }
        if (earlier.pathPrefix().isEmpty()) {
            return true;
        }
        String prefix = earlier.pathPrefix().get();
        return later.path().map(p -> p.startsWith(prefix))
                .or(() -> later.pathPrefix().map(p -> p.startsWith(prefix)))
                .orElse(false);
    }

    private static boolean headersCover(Map<String, String> earlier, Map<String, String> later) {
        return later.entrySet().containsAll(earlier.entrySet());
    }
}
