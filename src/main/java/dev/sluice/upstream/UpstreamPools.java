package dev.sluice.upstream;

import io.netty.channel.EventLoop;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/** The connection pools of one event loop, one per endpoint. Touched only from that loop. */
public final class UpstreamPools {
    private final EventLoop loop;
    private final LongSupplier nanoClock;
    private final Map<Endpoint, ConnectionPool> pools = new HashMap<>();

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

    /** Closes and forgets the pool of an endpoint removed from the config. */
    public void retire(Endpoint endpoint) {
        ConnectionPool pool = pools.remove(endpoint);
        if (pool != null) {
            pool.closeAll();
        }
    }

    public int idleCount(Endpoint endpoint) {
        ConnectionPool pool = pools.get(endpoint);
        return pool == null ? 0 : pool.idleCount();
    }

    /** Each endpoint's idle connections in this loop's pools; on this loop only. */
    public void idleCounts(java.util.function.ObjIntConsumer<Endpoint> each) {
        pools.forEach((endpoint, pool) -> each.accept(endpoint, pool.idleCount()));
    }

    public void closeAll() {
        pools.values().forEach(ConnectionPool::closeAll);
    }
}
