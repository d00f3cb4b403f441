package dev.sluice.upstream;

import io.netty.channel.EventLoop;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The connection pools of one event loop, one per endpoint: HTTP/1.1 connections, one request
 * each, in a {@link ConnectionPool}; HTTP/2 connections, shared by streams, in an {@link Http2Pool}.
 * Touched only from that loop.
 */
public final class UpstreamPools {
    private final EventLoop loop;
    private final LongSupplier nanoClock;
    private final Map<Endpoint, ConnectionPool> pools = new HashMap<>();
    private final Map<Endpoint, Http2Pool> http2 = new HashMap<>();

    public UpstreamPools(EventLoop loop, LongSupplier nanoClock) {
        this.loop = loop;
        this.nanoClock = nanoClock;
    }

    public ConnectionPool pool(Endpoint endpoint, int maxIdle) {
        ConnectionPool pool = pools.get(endpoint);
        if (pool == null) {
            pool = new ConnectionPool(loop, nanoClock, maxIdle);
            pools.put(endpoint, pool);
        }
        return pool;
    }

    /** The HTTP/2 connections to {@code endpoint} (of a cluster with {@code protocol: h2} or {@code h2c}). */
    public Http2Pool http2(Endpoint endpoint) {
        Http2Pool pool = http2.get(endpoint);
        if (pool == null) {
            pool = new Http2Pool(loop, endpoint, nanoClock);
            http2.put(endpoint, pool);
        }
        return pool;
    }

    /**
     * Closes and forgets the pool of an endpoint removed from the config; its HTTP/2 connections
     * take no new stream and close once their streams in flight are done.
     */
    public void retire(Endpoint endpoint) {
        ConnectionPool pool = pools.remove(endpoint);
        if (pool != null) {
            pool.closeAll();
        }
        Http2Pool shared = http2.remove(endpoint);
        if (shared != null) {
            shared.retire();
        }
    }

    public int idleCount(Endpoint endpoint) {
        ConnectionPool pool = pools.get(endpoint);
        Http2Pool shared = http2.get(endpoint);
        return (pool == null ? 0 : pool.idleCount()) + (shared == null ? 0 : shared.idleCount());
    }

    /** Each endpoint's idle connections in this loop's pools (HTTP/2 ones without a stream); on this loop only. */
    public void idleCounts(java.util.function.ObjIntConsumer<Endpoint> each) {
        pools.forEach((endpoint, pool) -> each.accept(endpoint, pool.idleCount()));
        http2.forEach((endpoint, pool) -> each.accept(endpoint, pool.idleCount()));
    }

    public void closeAll() {
        pools.values().forEach(ConnectionPool::closeAll);
        http2.values().forEach(Http2Pool::closeAll);
    }
}
