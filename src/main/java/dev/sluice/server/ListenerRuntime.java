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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** A listener's settings in the form the data plane uses them, and its connection count. */
final class ListenerRuntime implements TrustedProxies {
    final ListenerConfig config;
    final long headerTimeoutNanos;
    final long bodyTimeoutNanos;
    /** Its open connections against max_connections, and the idle timeout that follows from them. */
    final ConnectionLimit connections;
    /** Present on a {@code redirect_https} listener: the route every request takes, a 308 to HTTPS. */
    final java.util.Optional<dev.sluice.route.Route> redirectHttps;
    /** Present on a TLS listener: its certificates and handshakes. */
    final java.util.Optional<TlsTermination> tls;
    private final List<IpSubnetFilterRule> trustedProxies;
    private final Map<EventLoop, WaitingConnections> waiting = new ConcurrentHashMap<>();

    /**
     * @param autoLimit the limit if the config says {@code auto} ({@link ConnectionLimit#autoLimit})
     * @param refused where refusals are counted: one count per listener name, kept across reloads
     * @param evicted where connections closed to make room are counted, likewise
     * @param handshakeFailures where a TLS listener's failed handshakes are counted, likewise
     */
    ListenerRuntime(ListenerConfig config, int autoLimit, AtomicLong refused, AtomicLong evicted,
                    HandshakeFailures handshakeFailures) {
        this.config = config;
        this.headerTimeoutNanos = config.headerTimeout().toNanos();
        this.bodyTimeoutNanos = config.bodyTimeout().toNanos();
        this.connections = new ConnectionLimit(config.maxConnections().orElse(autoLimit),
                config.idleTimeout().toNanos(), config.idleTimeoutUnderPressure().toNanos(), refused, evicted);
        this.trustedProxies = config.trustedProxies().stream().map(ListenerRuntime::rule).toList();
        this.tls = config.tls().map(t -> new TlsTermination(config.name(), t, config.http2().enabled(), handshakeFailures));
        this.redirectHttps = config.redirectHttps().isPresent()
                ? java.util.Optional.of(redirectRoute(config.redirectHttps().getAsInt())) : java.util.Optional.empty();
    }

    /**
     * The route of a {@code redirect_https} listener: a redirect like any route's
     * ({@code exchange.LocalAnswer}), to {@code https://${host}[:port]${uri}}. 308 keeps the method
     * and body (a POST stays a POST, RFC 9110 §15.4.9), and is permanent: the site is HTTPS for good.
     */
    private static dev.sluice.route.Route redirectRoute(int port) {
        var target = new dev.sluice.config.TemplateConfig(List.of(
                new dev.sluice.config.TemplateConfig.Literal("https://"),
                new dev.sluice.config.TemplateConfig.Variable("host"),
                new dev.sluice.config.TemplateConfig.Literal(port == ListenerConfig.HTTPS_PORT ? "" : ":" + port),
                new dev.sluice.config.TemplateConfig.Variable("uri")));
        return new dev.sluice.route.Route(new dev.sluice.config.RouteConfig("redirect-https",
                dev.sluice.config.MatchConfig.prefix("/"), "", dev.sluice.config.RouteConfig.DEFAULT_TIMEOUT,
                dev.sluice.config.RetryConfig.DEFAULT, List.of(), dev.sluice.config.PathRewriteConfig.NONE,
                dev.sluice.config.UpstreamHostConfig.CLIENT, dev.sluice.config.HeaderRulesConfig.NONE,
                dev.sluice.config.HeaderRulesConfig.NONE,
                java.util.Optional.of(new dev.sluice.config.LocalAnswerConfig.Redirect(target, 308)),
                java.util.OptionalLong.empty()));
    }

    /** The only listener, refusals counted on their own. */
    ListenerRuntime(ListenerConfig config) {
        this(config, ConnectionLimit.autoLimit(ConnectionLimit.openFilesLimit(), 1), new AtomicLong(), new AtomicLong(),
                new HandshakeFailures());
    }

    /** The listeners changed in number: an {@code auto} limit takes its new share; a written one stays. */
    void autoLimitIs(int autoLimit) {
        if (config.maxConnections().isEmpty()) {
            connections.limitTo(autoLimit);
        }
    }

    /** Its connection limit as the start-up log says it: the number, and for {@code auto} how it was reached. */
    String describeLimit(long openFilesLimit, int listenerCount) {
        return connections.max() + (config.maxConnections().isPresent() ? "" : " (auto: the open-files limit "
                + openFilesLimit + " less " + ConnectionLimit.RESERVED_FILES + ", halved, shared by " + listenerCount
                + " listener(s))");
    }

    /** This listener's connections waiting for their clients on one event loop. */
    WaitingConnections waitingConnections(EventLoop loop, LongSupplier nanoTime) {
        WaitingConnections list = waiting.get(loop); // every connection asks; only the first per loop makes it
        return list != null ? list : waiting.computeIfAbsent(loop,
                l -> new WaitingConnections(l, connections, headerTimeoutNanos, nanoTime));
    }

    /** The listener went above 80% full: each loop's idle list sweeps now, with the shrunk timeout. */
    void pressureBegan() {
        waiting.forEach((loop, list) -> loop.execute(list::sweepIdleNow));
    }

    /** How many of this listener's connections wait for their clients, on every event loop. */
    int waiting() {
        int sum = 0;
        for (WaitingConnections list : waiting.values()) {
            sum += list.waiting();
        }
        return sum;
    }

    /**
     * A connection accepted now took the place of a waiting one: the event loop with the most
     * waiting connections closes the one there that has waited longest. The connections are
     * spread evenly over the loops, so that one is the longest waiting of all but for a moment's
     * difference, without a list shared by the loops.
     */
    void makeRoom() {
        WaitingConnections most = null;
        for (WaitingConnections list : waiting.values()) {
            if (most == null || list.waiting() > most.waiting()) {
                most = list;
            }
        }
        if (most != null) {
            most.makeRoom();
        }
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
