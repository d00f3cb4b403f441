package dev.sluice.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A route split across clusters by weight ({@code routes[].backends}), in place of its one
 * {@code cluster}: each request goes to one backend, chosen once in the route step; its retries
 * stay there. Optionally sticky, so that one user keeps seeing one version, and optionally a
 * canary that moves the weights by itself ({@link CanaryConfig}).
 *
 * @param backends in config order; weights are relative (a canary route's add up to 100)
 * @param sticky what keeps a user on one backend; none by default (each request drawn anew)
 * @param canary the analysis that moves the canary's weight step by step; none by default
 */
public record SplitConfig(List<Backend> backends, Optional<StickyKey> sticky, Optional<CanaryConfig> canary) {
    public SplitConfig {
        backends = List.copyOf(backends);
        Objects.requireNonNull(sticky, "sticky");
        Objects.requireNonNull(canary, "canary");
    }

    /** One cluster of the split and its share: {@code weight / sum of weights} of the requests. */
    public record Backend(String cluster, int weight) {}

    /**
     * What a request is hashed by, so that it lands on the same backend as the same user's
     * requests before. A request without it is drawn at random by weight.
     */
    public sealed interface StickyKey {
        /** A request header's value; {@code name} lower case. */
        record Header(String name) implements StickyKey {}

        /** The value of the application's own cookie (a session id); Sluice never sets it. */
        record Cookie(String name) implements StickyKey {}
    }

    /** The backend the route's canary analysis moves, if it has one. */
    public Optional<Backend> canaryBackend() {
        return canary.flatMap(c -> backends.stream().filter(b -> b.cluster().equals(c.cluster())).findFirst());
    }

    /** The other backend of a canary route: the one the canary is compared with. */
    public Optional<Backend> stableBackend() {
        return canary.flatMap(c -> backends.stream().filter(b -> !b.cluster().equals(c.cluster())).findFirst());
    }
}
