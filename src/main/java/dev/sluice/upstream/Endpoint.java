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

    /** Result of active health checking; {@link #HEALTHY} when the cluster has no health check. */
    public enum Health {
        /** Not checked yet: no traffic until the first check proves the endpoint's identity. */
        PENDING,
        HEALTHY,
        /** Failed its checks: used only when nothing healthy is left (panic mode). */
        UNHEALTHY,
        /** Answered as a different service: never used, not even in panic mode. */
        WRONG_IDENTITY
    }

    private final String cluster;
    private final String address;
    private final String id;
    private final InetSocketAddress socketAddress;
    private final Map<String, String> labels;
    private final int weight;
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile Health health = Health.HEALTHY;
    /** When the endpoint last became usable (created, recovered): the start of its slow start. */
    private volatile long usableSinceNanos;
    /** The shortest idle time after which the backend was seen closing a pooled connection; -1 if never. */
    private volatile long observedIdleCloseNanos = -1;
    /** The keep-alive timeout the backend last advertised ({@code Keep-Alive: timeout}); -1 if never. */
    private volatile long advertisedNanos = -1;
    /** Ejections since the endpoint was made (kept across reloads that keep it). */
    private final java.util.concurrent.atomic.AtomicLong ejectionsTotal = new java.util.concurrent.atomic.AtomicLong();
    /** Removed by a reload: finishes what it carries, pools nothing. */
    private volatile boolean retired;
    private volatile boolean raceWarned;
    private volatile int ejections;
    private volatile long ejectedUntilNanos;
    private volatile boolean ejected;
    private volatile boolean nameLost;

    public Endpoint(String cluster, String address, InetSocketAddress socketAddress, Map<String, String> labels,
                    int weight, boolean healthChecked, long nowNanos) {
        this(cluster, address, address, socketAddress, labels, weight, healthChecked, nowNanos);
    }

    /** One of the addresses host name {@code address} resolved to: {@code ip}. */
    public static Endpoint resolved(String cluster, String address, java.net.InetAddress ip, int port,
                                    Map<String, String> labels, int weight, boolean healthChecked, long nowNanos) {
        return new Endpoint(cluster, address, address + " " + ip.getHostAddress(), new InetSocketAddress(ip, port),
                labels, weight, healthChecked, nowNanos);
    }

    private Endpoint(String cluster, String address, String id, InetSocketAddress socketAddress,
                     Map<String, String> labels, int weight, boolean healthChecked, long nowNanos) {
        this.cluster = cluster;
        this.address = address;
        this.socketAddress = socketAddress;
        this.id = id;
        this.labels = Map.copyOf(labels);
        this.weight = weight;
        this.health = healthChecked ? Health.PENDING : Health.HEALTHY;
        this.usableSinceNanos = nowNanos;
    }

    /**
     * Says once that a fixed {@code idle_timeout} is not below what this backend was seen to
     * allow: pooled connections will be reused just as the backend closes them (the keep-alive
     * race behind most 502s). {@code idle_timeout: auto} would avoid it.
     */
    void warnIdleTimeoutRace(java.time.Duration configured, long learnedNanos) {
        if (!raceWarned) {
            raceWarned = true;
            org.slf4j.LoggerFactory.getLogger(Endpoint.class).warn(
                    "cluster {} endpoint {}: idle_timeout {} is not below the backend's keep-alive timeout (~{} ms); "
                            + "reused connections will race the backend's close. Use idle_timeout: auto, or a value "
                            + "below the backend's", cluster, address, configured, learnedNanos / 1_000_000);
        }
    }

    /** Whether a fixed idle timeout was found to race this backend's keep-alive (shown in /status). */
    public boolean idleTimeoutRaces() {
        return raceWarned;
    }

    /** Marks the endpoint as removed from the config; see {@link ConnectionPool#release}. */
    public void retire() {
        retired = true;
    }

    public boolean retired() {
        return retired;
    }

    public int weight() {
        return weight;
    }

    public Health health() {
        return health;
    }

    /** Sets the health check's verdict; a return to health restarts slow start. */
    public void health(Health next, long nowNanos) {
        if (next == Health.HEALTHY && health != Health.HEALTHY) {
            usableSinceNanos = nowNanos;
        }
        health = next;
    }

    long usableSinceNanos() {
        return usableSinceNanos;
    }

    /** Requests being sent to or answered by this endpoint right now (least-request balancing). */
    public int inFlight() {
        return inFlight.get();
    }

    public void attemptStarted() {
        inFlight.incrementAndGet();
    }

    public void attemptEnded() {
        inFlight.decrementAndGet();
    }

    /**
     * The backend closed a pooled connection after it sat idle {@code idleNanos}: that is its
     * keep-alive timeout, as seen from here, even when it never advertised one.
     */
    void observeIdleClose(long idleNanos) {
        long current = observedIdleCloseNanos;
        if (current < 0 || idleNanos < current) {
            observedIdleCloseNanos = idleNanos;
        }
    }

    public long observedIdleCloseNanos() {
        return observedIdleCloseNanos;
    }

    /** Whether this backend's keep-alive timeout is known, from its header or from watching it. */
    public boolean keepAliveTimeoutKnown() {
        return observedIdleCloseNanos >= 0 || advertisedNanos >= 0;
    }

    void advertisedKeepAlive(long nanos) {
        // Written only when it changes: every response of a keep-alive backend says it again.
        if (advertisedNanos != nanos) {
            advertisedNanos = nanos;
        }
    }

    /** The backend's keep-alive timeout as far as Sluice knows it (advertised or seen), or -1. */
    public long learnedKeepAliveNanos() {
        return IdleTimeouts.learnedNanos(advertisedNanos, observedIdleCloseNanos);
    }

    /** How many times passive health ejected the endpoint. */
    public long ejectionsTotal() {
        return ejectionsTotal.get();
    }

    public String cluster() {
        return cluster;
    }

    /** The address as written in the config, used in logs and /status, and as the Host a route sends with {@code host: endpoint}. */
    public String address() {
        return address;
    }

    /**
     * What names this endpoint among its cluster's, stably across reloads: its address as
     * written, and for one of a host name's addresses, that address too ({@code api:8080 10.0.0.7}).
     * Sticky cookies and the Maglev table are made from it.
     */
    public String id() {
        return id;
    }

    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    public Map<String, String> labels() {
        return labels;
    }

    /** Whether this is one of the addresses a host name resolved to (its {@link #id()} says which). */
    public boolean fromName() {
        return !id.equals(address);
    }

    /**
     * Marks the name this endpoint's address came from as lost (it has not resolved for a
     * while, see {@code DnsRefresh}) or found again. A lost name's addresses are picked only
     * as unhealthy ones are: in panic mode.
     */
    public void nameLost(boolean lost) {
        nameLost = lost;
    }

    public boolean nameLost() {
        return nameLost;
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
     * This endpoint's share of traffic relative to its peers: its weight, scaled down linearly
     * (to a 10% floor) while it is within {@code slowStartNanos} of becoming usable again (new,
     * healthy again, or back from an ejection), so a cold cache or JIT is not flooded.
     */
    double effectiveWeight(long now, long slowStartNanos) {
        if (slowStartNanos <= 0) {
            return weight;
        }
        long since = ejected ? Math.max(usableSinceNanos, ejectedUntilNanos) : usableSinceNanos;
        double ramp = (double) (now - since) / slowStartNanos;
        return ramp >= 1 ? weight : weight * Math.max(0.1, ramp);
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
        ejectionsTotal.incrementAndGet();
        return true;
    }

    @Override
    public String toString() {
        return id;
    }
}
