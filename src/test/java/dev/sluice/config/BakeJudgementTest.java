package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigVersion.Outcome;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BakeJudgementTest {
    private static ConfigVersion previous(long requests, long localReplies) {
        return new ConfigVersion(6, Instant.EPOCH, "test", "0".repeat(64), Outcome.GOOD, Optional.empty(), requests,
                localReplies, "");
    }

    @Test
    void withoutCountersAVersionThatServedItsBakePeriodIsGood() {
        BakeJudgement j = BakeJudgement.judge(false, 0, 0, Optional.empty());

        assertThat(j.outcome()).isEqualTo(Outcome.GOOD);
        assertThat(j.note()).contains("judged on time only");
    }

    @Test
    void anErrorRatioAboveThePreviousVersionsIsBad() {
        BakeJudgement j = BakeJudgement.judge(true, 1000, 42, Optional.of(previous(5000, 5)));

        assertThat(j.outcome()).isEqualTo(Outcome.BAD);
        assertThat(j.note()).isEqualTo("gateway error ratio 4.20% is above version 6's 0.10%");
    }

    @Test
    void aRatioWithinTheToleranceOfThePreviousIsGood() {
        assertThat(BakeJudgement.judge(true, 1000, 2, Optional.of(previous(5000, 5))).outcome()).isEqualTo(Outcome.GOOD);
        assertThat(BakeJudgement.judge(true, 1000, 0, Optional.of(previous(5000, 50))).note())
                .isEqualTo("served its bake period; gateway error ratio 0.00% (version 6: 1.00%)");
    }

    @Test
    void tooLittleTrafficOnEitherSideIsJudgedOnTime() {
        assertThat(BakeJudgement.judge(true, 99, 99, Optional.of(previous(5000, 0))).outcome()).isEqualTo(Outcome.GOOD);
        assertThat(BakeJudgement.judge(true, 1000, 500, Optional.of(previous(10, 0))).note())
                .contains("no previous version with traffic to compare with");
    }
}
