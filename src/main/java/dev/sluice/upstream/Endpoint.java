package dev.sluice.upstream;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One backend address of a cluster at run time. Outlives config reloads that keep it, so the
 * state it carries (pools, passive health) survives them.
 *
 * <p>Passive health (outlier detection): consecutive failures that Sluice itself observed
 * eject the endpoint for a time that doubles with each ejection in a row. Shared by every event
 * loop, so the fields are atomic or volatile; a lost race only shifts an ejection by a request.
 */
public final class Endpoint {
    /** 5 in a row: one failure is noise; five is an endpoint that is not there (Envoy's default). */
    public static final int CONSECUTIVE_FAILURES_TO_EJECT = 5;
    /** 1 s first ejection: a restarting process is usually back within seconds. */
    static final long BASE_EJECTION_NANOS = 1_000_000_000L;
    /** 30 s longest ejection: a dead endpoint is probed at least twice a minute. */
    static final long MAX_EJECTION_NANOS = 30_000_000_000L;

    private final String cluster;
    private final String address;
    private final InetSocketAddress socketAddress;
    private final Map<String, String> labels;
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private volatile int ejections;
    private volatile long ejectedUntilNanos;
    private volatile boolean ejected;

    public Endpoint(String cluster, String address, InetSocketAddress socketAddress, Map<String, String> labels) {
        this.cluster = cluster;
        this.address = address;
        this.socketAddress = socketAddress;
        this.labels = Map.copyOf(labels);
    }

    public String cluster() {
        return cluster;
    }

    /** The address as written in the config, used in logs and /status. */
    public String address() {
        return address;
    }

    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    public Map<String, String> labels() {
        return labels;
    }

    /** Whether the endpoint is out of rotation at {@code now}. */
    public boolean isEjected(long now) {
        return ejected && now < ejectedUntilNanos;
    }

    public int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    /** An exchange with this endpoint succeeded: it is healthy again. */
    public void recordSuccess() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
        if (ejected) {
            ejected = false;
            ejections = 0;
        }
    }

    /**
     * A failure Sluice observed (refused or timed-out connect, reset, timeout). Returns true when
     * this failure ejected the endpoint. {@code mayEject} is false when the cluster already has
     * as many endpoints ejected as it allows.
     */
    public boolean recordFailure(long now, boolean mayEject) {
        int failures = consecutiveFailures.incrementAndGet();
        if (failures < CONSECUTIVE_FAILURES_TO_EJECT || isEjected(now) || !mayEject) {
            return false;
        }
        consecutiveFailures.set(0);
        int n = Math.min(ejections, 5);
        ejectedUntilNanos = now + Math.min(MAX_EJECTION_NANOS, BASE_EJECTION_NANOS << n);
        ejections = ejections + 1;
        ejected = true;
        return true;
    }

    @Override
    public String toString() {
        return address;
    }
}
