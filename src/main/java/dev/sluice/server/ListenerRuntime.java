package dev.sluice.server;

import dev.sluice.config.ListenerConfig;
import dev.sluice.exchange.TrustedProxies;
import io.netty.channel.EventLoop;
import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/** A listener's settings in the form the data plane uses them. */
final class ListenerRuntime implements TrustedProxies {
    final ListenerConfig config;
    final long idleTimeoutNanos;
    final long headerTimeoutNanos;
    final long bodyTimeoutNanos;
    private final List<IpSubnetFilterRule> trustedProxies;
    private final Map<EventLoop, IdleConnections> idle = new ConcurrentHashMap<>();

    ListenerRuntime(ListenerConfig config) {
        this.config = config;
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.headerTimeoutNanos = config.headerTimeout().toNanos();
        this.bodyTimeoutNanos = config.bodyTimeout().toNanos();
        this.trustedProxies = config.trustedProxies().stream().map(ListenerRuntime::rule).toList();
    }

    /** This listener's idle connections on one event loop. */
    IdleConnections idleConnections(EventLoop loop, LongSupplier nanoTime) {
        IdleConnections list = idle.get(loop); // every connection asks; only the first per loop makes it
        return list != null ? list : idle.computeIfAbsent(loop, l -> new IdleConnections(l, idleTimeoutNanos, nanoTime));
    }

    private static IpSubnetFilterRule rule(String cidr) {
        int slash = cidr.indexOf('/');
        String ip = slash < 0 ? cidr : cidr.substring(0, slash);
        int bits = slash < 0 ? (ip.contains(":") ? 128 : 32) : Integer.parseInt(cidr.substring(slash + 1));
        return new IpSubnetFilterRule(ip, bits, IpFilterRuleType.ACCEPT);
    }

    /** An address in {@code X-Forwarded-For}: whether it is one of this listener's trusted proxies too. */
    @Override
    public boolean trusts(java.net.InetAddress address) {
        return isTrustedProxy(new InetSocketAddress(address, 0));
    }

    boolean isTrustedProxy(InetSocketAddress peer) {
        for (IpSubnetFilterRule rule : trustedProxies) {
            if (rule.matches(peer)) {
                return true;
            }
        }
        return false;
    }
}
