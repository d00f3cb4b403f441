package dev.sluice.exchange;

import dev.sluice.access.PasswordChecks;
import dev.sluice.apps.Apps;
import dev.sluice.upstream.UpstreamConnector;
import dev.sluice.upstream.UpstreamPools;
import io.netty.channel.EventLoop;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * What every exchange served by one event loop shares: the loop, its connection pools, the
 * connector, the clock, the current snapshot, the admission policy and where passwords are
 * checked (shared by all loops). One per event loop, so
 * an exchange finds its pools without a lookup; time is read from the injected clock only.
 */
public final class ExchangeContext {
    private final EventLoop loop;
    private final UpstreamPools pools;
    private final UpstreamConnector connector;
    private final LongSupplier nanoClock;
    private final Supplier<Snapshot> snapshots;
    private final Admission admission;
    private final PasswordChecks passwordChecks;
    private final Apps apps;
    private final Taps taps;

    /** Without password checks: a route with basic auth refuses new credentials (tests of other steps). */
    public ExchangeContext(EventLoop loop, UpstreamPools pools, UpstreamConnector connector, LongSupplier nanoClock,
                           Supplier<Snapshot> snapshots, Admission admission) {
        this(loop, pools, connector, nanoClock, snapshots, admission, PasswordChecks.NONE, Apps.unrecorded());
    }

    /** @param apps the apps behind clusters, whose process state says what a failed connect to them means */
    public ExchangeContext(EventLoop loop, UpstreamPools pools, UpstreamConnector connector, LongSupplier nanoClock,
                           Supplier<Snapshot> snapshots, Admission admission, PasswordChecks passwordChecks, Apps apps) {
        this(loop, pools, connector, nanoClock, snapshots, admission, passwordChecks, apps,
                new Taps(java.time.Clock.systemUTC()));
    }

    /** @param taps the gateway's mirrors and recordings, shared by its loops */
    public ExchangeContext(EventLoop loop, UpstreamPools pools, UpstreamConnector connector, LongSupplier nanoClock,
                           Supplier<Snapshot> snapshots, Admission admission, PasswordChecks passwordChecks, Apps apps,
                           Taps taps) {
        this.taps = taps;
        this.passwordChecks = passwordChecks;
        this.apps = apps;
        this.loop = loop;
        this.pools = pools;
        this.connector = connector;
        this.nanoClock = nanoClock;
        this.snapshots = snapshots;
        this.admission = admission;
    }

    EventLoop loop() {
        return loop;
    }

    UpstreamPools pools() {
        return pools;
    }

    UpstreamConnector connector() {
        return connector;
    }

    long nanoTime() {
        return nanoClock.getAsLong();
    }

    /** The snapshot current now; a request reads it once, when it is routed. */
    Snapshot snapshot() {
        return snapshots.get();
    }

    Admission admission() {
        return admission;
    }

    PasswordChecks passwordChecks() {
        return passwordChecks;
    }

    Apps apps() {
        return apps;
    }

    Taps taps() {
        return taps;
    }
}
