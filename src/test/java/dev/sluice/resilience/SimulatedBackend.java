package dev.sluice.resilience;

import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * A backend and its clients on a simulated clock, through a {@link ConcurrencyGate}: a request
 * admitted when {@code n} are in flight (itself included) takes {@code base + perExtra × (n −
 * workers)} when {@code n} is past the backend's workers (they wait in its accept queue), else
 * {@code base}; plus, optionally, up to {@code noise} at random. {@code clients} each send a
 * request, wait for its answer and send the next at once (many clients: a flood). Nothing here
 * reads a real clock.
 */
final class SimulatedBackend {
    static final long MS = 1_000_000L;
    static final long SECOND = 1_000 * MS;

    private record Flight(long end, long admitted) {}

    /** What a stretch of {@link #run} saw: the answers' latencies, and the gate's limit outside its probes. */
    static final class Stretch {
        private final long nanos;
        private long[] latencies = new long[1024];
        private int count;
        private int lowestLimit = Integer.MAX_VALUE;
        private int highestLimit;

        private Stretch(long nanos) {
            this.nanos = nanos;
        }

        private void answered(long latency, int limit, boolean probing) {
            if (count == latencies.length) {
                latencies = Arrays.copyOf(latencies, count * 2);
            }
            latencies[count++] = latency;
            if (!probing) {
                lowestLimit = Math.min(lowestLimit, limit);
                highestLimit = Math.max(highestLimit, limit);
            }
        }

        double servedPerSecond() {
            return count * (double) SECOND / nanos;
        }

        /** The latency below which {@code percent} of the answers came, in ms. */
        double latencyMs(double percent) {
            long[] sorted = Arrays.copyOf(latencies, count);
            Arrays.sort(sorted);
            int index = (int) Math.ceil(percent / 100 * count) - 1;
            return sorted[Math.max(0, index)] / (double) MS;
        }

        /** The lowest and highest limit as answers came, the probes left out. */
        int[] limits() {
            return new int[] {lowestLimit, highestLimit};
        }
    }

    private final ConcurrencyGate gate;
    private final PriorityQueue<Flight> flights = new PriorityQueue<>((a, b) -> Long.compare(a.end, b.end));
    private final Random random = new Random(14);
    long base;
    int workers;
    long perExtra;
    long noise;
    private long now;
    private int leaving;

    SimulatedBackend(ConcurrencyGate gate, long base, int workers, long perExtra) {
        this.gate = gate;
        this.base = base;
        this.workers = workers;
        this.perExtra = perExtra;
    }

    /** More clients join, each sending its first request now. */
    SimulatedBackend clients(int more) {
        for (int i = 0; i < more; i++) {
            send();
        }
        return this;
    }

    /** Clients leave as their answers come (the load drops). */
    SimulatedBackend clientsLeave(int fewer) {
        leaving += fewer;
        return this;
    }

    /** Runs the clients and the backend for {@code nanos} of simulated time. */
    Stretch run(long nanos) {
        Stretch stretch = new Stretch(nanos);
        long until = now + nanos;
        while (!flights.isEmpty() && flights.peek().end <= until) {
            Flight done = flights.poll();
            now = done.end;
            gate.exit(done.admitted, now, false);
            stretch.answered(now - done.admitted, gate.limit(), gate.probing());
            if (leaving > 0) {
                leaving--;
            } else {
                send();
            }
        }
        now = until;
        return stretch;
    }

    private void send() {
        if (gate.tryEnter()) {
            start();
        } else if (!(gate.enqueue(this::start, now) instanceof ConcurrencyGate.Entry.Queued)) {
            throw new AssertionError("the simulated clients never fill the queue");
        }
    }

    private void start() {
        int n = gate.inFlight();
        long latency = base + perExtra * Math.max(0, n - workers) + (noise == 0 ? 0 : (long) (random.nextDouble() * noise));
        flights.add(new Flight(now + latency, now));
    }
}
