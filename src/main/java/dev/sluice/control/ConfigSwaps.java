package dev.sluice.control;

import java.time.Instant;

/**
 * Told of each config the control plane swaps in: just before the swap, with the time its version
 * will say it was applied, and once it serves. Called on the changing thread, under the control
 * plane's lock: neither may block. The canaries start a new run's first step at that time.
 */
public interface ConfigSwaps {
    ConfigSwaps NONE = new ConfigSwaps() {
        @Override
        public void swapping(Instant at) {}

        @Override
        public void swapped() {}
    };

    /** The config applied {@code at} (its version's {@code applied_at}) is about to be swapped in. */
    void swapping(Instant at);

    /** It serves. */
    void swapped();
}
