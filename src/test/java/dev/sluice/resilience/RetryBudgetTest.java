package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RetryBudgetTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void eachRequestPaysForOneFifthOfARetry() {
        RetryBudget budget = new RetryBudget(0.2, 0, 100, 0);
        for (int i = 0; i < 100; i++) {
            budget.deposit();
        }
        int retries = 0;
        while (budget.tryWithdraw(0)) {
            retries++;
        }
        assertThat(retries).isEqualTo(20);
    }

    @Test
    void aQuietClusterStillEarnsTheFloorOverTime() {
        RetryBudget budget = new RetryBudget(0.2, 5, 100, 0);
        assertThat(budget.available(0)).isEqualTo(5);
        while (budget.tryWithdraw(0)) {
            // drain the first second's worth
        }
        assertThat(budget.tryWithdraw(SECOND / 10)).isFalse();
        assertThat(budget.available(SECOND)).isEqualTo(5);
        assertThat(budget.available(3 * SECOND)).isEqualTo(15);
    }

    @Test
    void aLongCalmPeriodBanksAtMostTheCap() {
        RetryBudget budget = new RetryBudget(0.2, 5, 100, 0);
        for (int i = 0; i < 10_000; i++) {
            budget.deposit();
        }
        assertThat(budget.available(3600 * SECOND)).isEqualTo(100);
    }
}
