package dev.sluice.resilience;

import static dev.sluice.resilience.SimulatedBackend.MS;
import static dev.sluice.resilience.SimulatedBackend.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConcurrencyConfig;
import org.junit.jupiter.api.Test;

/**
 * The adaptive limit against simulated backends (latency = base, plus per request waiting beyond
 * the backend's workers), on a simulated clock. The flood is issue 14's Overload scenario: a
 * backend of 4 workers × 40 ms (100 req/s) asked for far more.
 */
class BaselineLimitTest {
    private static final long MINUTE = 60 * SECOND;

    /** 4-6 for the backend's 4 workers: the target (baseline + 10% + 10 ms) is 54 ms for this 40 ms backend. */
    private static void nearTheFourWorkers(int[] limits) {
        assertThat(limits[0]).isGreaterThanOrEqualTo(4);
        assertThat(limits[1]).isLessThanOrEqualTo(6);
    }

    private static ConcurrencyGate adaptive() {
        return new ConcurrencyGate(ConcurrencyConfig.DEFAULT, () -> 0.5);
    }

    /** 4 workers, 40 ms each: each request beyond the 4 waits its share of a worker, 10 ms. */
    private static SimulatedBackend fourWorkers(ConcurrencyGate gate) {
        return new SimulatedBackend(gate, 40 * MS, 4, 10 * MS);
    }

    @Test
    void aFloodedBackendIsSentAboutItsWorkersAndKeepsItsLatencyFromTheFirstSeconds() {
        ConcurrencyGate gate = adaptive();
        // A cold start: the flood is the first traffic the gate sees.
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(2 * SECOND);
        assertThat(gate.baselineNanos()).isEqualTo(40 * MS);
        SimulatedBackend.Stretch flood = backend.run(MINUTE);
        assertThat(flood.limits()).as("limit, lowest and highest").satisfies(BaselineLimitTest::nearTheFourWorkers);
        assertThat(flood.latencyMs(99)).as("p99 within 2x of 40 ms").isLessThanOrEqualTo(80);
        assertThat(flood.servedPerSecond()).as("served of its 100 req/s").isGreaterThan(95);
    }

    @Test
    void aFloodAfterAQuietDayDoesNotTakeTheLimitBelowWhatTheBackendTakes() {
        ConcurrencyGate gate = adaptive();
        // Two clients for 10 s (the limit learns the baseline and stays at its start, 20), then the flood.
        SimulatedBackend backend = fourWorkers(gate).clients(2);
        backend.run(10 * SECOND);
        assertThat(gate.limit()).isEqualTo(ConcurrencyConfig.DEFAULT_INITIAL_LIMIT);
        backend.clients(1000);
        // The requests admitted at 20 end 200 ms later: the limit falls once for them, not again for each window.
        SimulatedBackend.Stretch flood = backend.run(10 * SECOND);
        assertThat(flood.limits()[0]).isGreaterThanOrEqualTo(4);
        assertThat(flood.servedPerSecond()).isGreaterThan(95);
    }

    @Test
    void aBaselineMeasuredOnAColdStartIsMeasuredAgainWithinSeconds() {
        ConcurrencyGate gate = adaptive();
        // New connections and code not yet compiled: the first requests take half as long again.
        SimulatedBackend backend = new SimulatedBackend(gate, 60 * MS, 4, 10 * MS).clients(1000);
        backend.run(SECOND);
        assertThat(gate.baselineNanos()).isEqualTo(60 * MS);
        backend.base = 40 * MS;
        backend.run(7 * SECOND);
        assertThat(gate.baselineNanos()).isEqualTo(40 * MS);
        assertThat(backend.run(MINUTE).limits()).satisfies(BaselineLimitTest::nearTheFourWorkers);
    }

    @Test
    void theLimitDoesNotDriftUpUnderSustainedOverload() {
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(10 * MINUTE);
        // Twenty probes later, the eleventh minute is as the first.
        SimulatedBackend.Stretch late = backend.run(MINUTE);
        assertThat(late.limits()).satisfies(BaselineLimitTest::nearTheFourWorkers);
        assertThat(late.latencyMs(99)).isLessThanOrEqualTo(80);
        assertThat(gate.baselineNanos()).isEqualTo(40 * MS);
    }

    @Test
    void theLimitRisesWhenTheBackendGetsMoreWorkers() {
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(10 * SECOND);
        // Scaled out to 16 workers: 400 req/s.
        backend.workers = 16;
        backend.perExtra = 40 * MS / 16;
        backend.run(5 * SECOND);
        SimulatedBackend.Stretch scaled = backend.run(MINUTE);
        assertThat(scaled.limits()[0]).isGreaterThanOrEqualTo(16);
        assertThat(scaled.servedPerSecond()).isGreaterThan(380);
        assertThat(scaled.latencyMs(99)).isLessThanOrEqualTo(80);
    }

    @Test
    void aBackendThatGotFasterIsRelearnedAtTheNextProbe() {
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(10 * SECOND);
        backend.base = 10 * MS;
        backend.perExtra = 10 * MS / 4;
        // Four times faster: the limit rises at once (latency under the old target)...
        backend.run(5 * SECOND);
        assertThat(gate.limit()).isGreaterThan(12);
        // ...and the next probe (every 30-34.5 s) learns the new baseline, which brings it back down:
        // to 8-9 (the target is 10 ms + 10% + 10 ms, twice this backend's latency).
        backend.run(40 * SECOND);
        assertThat(gate.baselineNanos()).isEqualTo(10 * MS);
        SimulatedBackend.Stretch faster = backend.run(20 * SECOND);
        assertThat(faster.limits()[1]).isLessThanOrEqualTo(10);
        assertThat(faster.latencyMs(99)).isLessThanOrEqualTo(25);
        assertThat(faster.servedPerSecond()).isGreaterThan(380);
    }

    @Test
    void aBackendThatGotSlowerGetsItsCapacityBackAtTheNextProbe() {
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(10 * SECOND);
        // A slower database: every request takes twice as long, with as many workers (50 req/s).
        backend.base = 80 * MS;
        backend.perExtra = 20 * MS;
        backend.run(40 * SECOND);
        assertThat(gate.baselineNanos()).isEqualTo(80 * MS);
        SimulatedBackend.Stretch slower = backend.run(MINUTE);
        assertThat(slower.limits()).satisfies(BaselineLimitTest::nearTheFourWorkers);
        assertThat(slower.servedPerSecond()).isGreaterThan(47);
        assertThat(slower.latencyMs(99)).isLessThanOrEqualTo(160);
    }

    @Test
    void afterTheFloodTheBackendServesItsUsualLoadAtItsUsualLatency() {
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = fourWorkers(gate).clients(1000);
        backend.run(20 * SECOND);
        // All but three clients leave as their answers come, within about ten seconds.
        backend.clientsLeave(997);
        backend.run(15 * SECOND);
        SimulatedBackend.Stretch calm = backend.run(MINUTE);
        assertThat(gate.queued()).isZero();
        assertThat(calm.latencyMs(100)).isEqualTo(40);
        assertThat(calm.servedPerSecond()).isGreaterThan(74);
        // And a second flood is held as the first was.
        backend.clients(997).run(5 * SECOND);
        assertThat(backend.run(MINUTE).limits()).satisfies(BaselineLimitTest::nearTheFourWorkers);
    }

    @Test
    void aFastHealthyBackendAtFullThroughputIsNeverHeldBack() {
        // bench/run's case: a fast backend, 100 connections that each send again as soon as answered.
        // 0.2 ms, noisy by up to 1 ms (a busy machine), never queueing: 100 in flight must always be allowed.
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = new SimulatedBackend(gate, 200_000, 1000, 0);
        backend.noise = MS;
        backend.clients(100).run(SECOND);
        // 40 s: a probe (every 30-34.5 s) included.
        SimulatedBackend.Stretch full = backend.run(40 * SECOND);
        assertThat(full.limits()[0]).isGreaterThanOrEqualTo(100);
        assertThat(full.servedPerSecond()).isGreaterThan(100 / 0.0007 * 0.99);
    }

    @Test
    void aFastBackendWhoseLatencyGrowsWithItsLoadIsHeldBackOnlyPastTenMilliseconds() {
        // One CPU-bound worker, 50 µs a request (20,000 req/s): at 100 in flight, 5 ms; at 1000, 50 ms.
        ConcurrencyGate gate = adaptive();
        SimulatedBackend backend = new SimulatedBackend(gate, 50_000, 1, 50_000).clients(100);
        backend.run(SECOND);
        assertThat(backend.run(40 * SECOND).limits()[0]).isGreaterThanOrEqualTo(100);
        // Ten times the clients: the backend would answer in 50 ms; the limit keeps it near 10 ms (its
        // baseline + 10% + 10 ms) at the same throughput, the rest waiting at the gate, not refused.
        backend.clients(900).run(5 * SECOND);
        SimulatedBackend.Stretch more = backend.run(40 * SECOND);
        assertThat(more.latencyMs(50)).isBetween(7.0, 12.0);
        assertThat(more.servedPerSecond()).isGreaterThan(19_800);
    }

    /** Ten requests of 1 ms over 100 ms: the first window, which starts the first probe. */
    private static void firstWindow(ConcurrencyGate gate) {
        for (int i = 0; i <= 10; i++) {
            assertThat(gate.tryEnter()).isTrue();
            gate.exit(i * 10 * MS, i * 10 * MS + MS, false);
        }
    }

    @Test
    void aColdClusterAdmitsItsInitialLimitUntilItsFirstWindowThenProbes() {
        ConcurrencyGate gate = adaptive();
        // Long requests held open from the start (long polls): nothing has ended, nothing is probed.
        for (int i = 0; i < ConcurrencyConfig.DEFAULT_INITIAL_LIMIT; i++) {
            assertThat(gate.tryEnter()).isTrue();
        }
        assertThat(gate.probing()).isFalse();
        ConcurrencyGate other = adaptive();
        firstWindow(other);
        assertThat(other.probing()).isTrue();
        assertThat(other.limit()).isEqualTo(BaselineLimit.PROBE_CONCURRENCY);
    }

    @Test
    void aProbeEndsAfterTwoSecondsWhenItsRequestsTakeLonger() {
        ConcurrencyGate gate = adaptive();
        firstWindow(gate);
        assertThat(gate.probing()).isTrue();
        for (int i = 0; i < 3; i++) {
            assertThat(gate.tryEnter()).isTrue();
        }
        assertThat(gate.tryEnter()).isFalse();
        // Requests of 10 s: none ends within the probe, so it ends unlearned and the limit is the initial one.
        gate.enqueue(() -> { }, 200 * MS);
        assertThat(gate.probing()).isTrue();
        gate.enqueue(() -> { }, 3 * SECOND);
        assertThat(gate.probing()).isFalse();
        assertThat(gate.baselineNanos()).isZero();
        assertThat(gate.limit()).isEqualTo(ConcurrencyConfig.DEFAULT_INITIAL_LIMIT);
    }

    @Test
    void failedRequestsAreNoSamplesOfTheBaseline() {
        ConcurrencyGate gate = adaptive();
        firstWindow(gate);
        long start = SECOND;
        for (int i = 0; i < 100; i++) {
            assertThat(gate.tryEnter()).isTrue();
            // A refused connect: answered in 0.1 ms, as a failure.
            gate.exit(start + i * MS, start + i * MS + 100_000, true);
        }
        assertThat(gate.probing()).isTrue();
        start += SECOND;
        for (int i = 0; i < BaselineLimit.PROBE_SAMPLES; i++) {
            assertThat(gate.tryEnter()).isTrue();
            gate.exit(start + i * MS, start + i * MS + 40 * MS, false);
        }
        assertThat(gate.baselineNanos()).isEqualTo(40 * MS);
    }
}
