package dev.sluice.control;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a canary's run ended, kept with the weights it ended at ({@link CanaryHolds}, in the state
 * directory) so that after a restart {@code GET /canaries} shows the run as it was: its status,
 * when and why, the version that recorded it, and its judged steps.
 *
 * @param status {@code rolled_back}, {@code aborted} or {@code promoted}
 * @param at when the canary's weight moved; empty in a hold kept before the time was
 * @param why what the version's source says
 * @param version the config version that recorded it; empty until recorded (or when it could not be)
 * @param judged the run's judged steps, as {@code GET /canaries} lists them
 */
public record CanaryEnd(String status, Optional<Instant> at, String why, Optional<Integer> version,
                        List<Map<String, Object>> judged) {
    public CanaryEnd {
        judged = List.copyOf(judged);
    }

    CanaryEnd recordedAs(int number) {
        return new CanaryEnd(status, at, why, Optional.of(number), judged);
    }
}
