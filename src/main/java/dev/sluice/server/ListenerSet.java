package dev.sluice.server;

import dev.sluice.config.ListenerConfig;
import dev.sluice.observe.GatewayMetrics;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's bound listeners: each one's settings, listening socket and {@link ListenerRuntime}
 * (its connection count against {@code max_connections}); binding them, making them those of a
 * new config ({@link #reconcile}), and sharing the open-files limit out among the {@code auto}
 * ones. Changed by the control plane under this object's lock; read by /status and /metrics from
 * what was last published, without waiting for a reload.
 */
final class ListenerSet {
    private static final Logger LOG = LoggerFactory.getLogger(ListenerSet.class);

    /** Binds a listening socket whose accepted connections are served with {@code runtime}. */
    interface Binder {
        Channel bind(ListenerRuntime runtime);
    }

    /** A bound listener: its settings, its listening socket, and what its connections share. */
    record Bound(ListenerConfig config, Channel channel, ListenerRuntime runtime) {
        String describe() {
            return config.name() + " (" + channel.localAddress() + ")";
        }

        /** The same socket serving {@code next}, which differs at most in its certificates (see {@link ListenerConfig#sameSocketAs}). */
        Bound serving(ListenerConfig next) {
            if (next.equals(config)) {
                return this;
            }
            next.tls().ifPresent(tls -> runtime.tls.orElseThrow().use(tls));
            return new Bound(next, channel, runtime);
        }
    }

    private final Binder binder;
    private final GatewayMetrics metrics;
    /** Told of each listening socket a reload closed while its connections may still be open. */
    private final Consumer<Channel> retired;
    /** How the gateway serves, for the log line of each bind (transport, event loops). */
    private final String serving;
    /** Read once: what the {@code auto} connection limits are shares of. */
    private final long openFilesLimit = ConnectionLimit.openFilesLimit();
    /** Connections refused per listener name, kept when a reload replaces the listener. */
    private final Map<String, AtomicLong> refusedByName = new ConcurrentHashMap<>();
    /** Waiting connections closed to make room, per listener name, likewise. */
    private final Map<String, AtomicLong> evictedByName = new ConcurrentHashMap<>();
    /** Failed TLS handshakes per listener name, likewise. */
    private final Map<String, HandshakeFailures> handshakeFailuresByName = new ConcurrentHashMap<>();
    /** Where TLS listeners look at their certificate files for renewals: a thread of its own, never an event loop (idle without one). */
    private final java.util.concurrent.ScheduledExecutorService certificateWatcher =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                    .name("sluice-tls-watch").factory());
    private final List<Bound> listeners = new ArrayList<>();
    /** {@link #listeners} as last changed. */
    private volatile List<Bound> published = List.of();

    ListenerSet(Binder binder, GatewayMetrics metrics, Consumer<Channel> retired, String serving) {
        this.binder = binder;
        this.metrics = metrics;
        this.retired = retired;
        this.serving = serving;
    }

    synchronized void bindAll(List<ListenerConfig> wanted) {
        for (ListenerConfig listener : wanted) {
            listeners.add(bind(listener, wanted.size()));
        }
        published = List.copyOf(listeners);
    }

    /** Binds one listener, one of {@code listenerCount} (what its {@code auto} connection limit is a share of). */
    private Bound bind(ListenerConfig listener, int listenerCount) {
        AtomicLong refused = refusedByName.computeIfAbsent(listener.name(), name -> {
            AtomicLong count = new AtomicLong();
            metrics.countRefusedConnections(name, count);
            return count;
        });
        AtomicLong evicted = evictedByName.computeIfAbsent(listener.name(), name -> {
            AtomicLong count = new AtomicLong();
            metrics.countEvictedConnections(name, count);
            return count;
        });
        HandshakeFailures handshakeFailures = listener.tls().isEmpty() ? new HandshakeFailures()
                : handshakeFailuresByName.computeIfAbsent(listener.name(), name -> {
            HandshakeFailures failures = new HandshakeFailures();
            for (HandshakeFailures.Reason reason : HandshakeFailures.Reason.values()) {
                metrics.countHandshakeFailures(name, reason.label(), failures.count(reason));
            }
            return failures;
        });
        ListenerRuntime runtime = new ListenerRuntime(listener, ConnectionLimit.autoLimit(openFilesLimit, listenerCount),
                refused, evicted, handshakeFailures);
        Channel channel = binder.bind(runtime);
        runtime.tls.ifPresent(tls -> tls.watch(certificateWatcher));
        LOG.info("listening on {} ({}{}, max_connections {})", channel.localAddress(), serving,
                runtime.tls.map(tls -> ", TLS by " + dev.sluice.tls.ServerTls.provider() + ": "
                        + tls.serving().stream().map(dev.sluice.tls.CertifiedKey::describe).toList()).orElse(""),
                runtime.describeLimit(openFilesLimit, listenerCount));
        return new Bound(listener, channel, runtime);
    }

    /**
     * Makes the listeners those of {@code wanted}. A listener whose settings are unchanged keeps
     * its socket and its connections; a new one is bound; a removed one (or one whose settings
     * changed, which is removed and bound anew) stops accepting, and its open connections are
     * left to finish: see {@link Gateway#retiredListenerConnections()}. All or nothing: when a new
     * listener cannot bind, the ones bound by this call are closed again, nothing else changes,
     * and the exception says why. The {@code auto} connection limits are shared out anew among
     * however many listeners there now are.
     */
    synchronized Gateway.ListenerChanges reconcile(List<ListenerConfig> wanted) {
        List<Bound> current = List.copyOf(listeners);
        List<Bound> leaving = current.stream().filter(b -> wanted.stream().noneMatch(b.config()::sameSocketAs)).toList();
        List<Bound> released = new ArrayList<>();
        List<Bound> added = new ArrayList<>();
        List<Bound> next = new ArrayList<>();
        try {
            for (ListenerConfig config : wanted) {
                Bound same = current.stream().filter(b -> b.config().sameSocketAs(config)
                                && next.stream().noneMatch(n -> n.channel() == b.channel()))
                        .findFirst().orElse(null);
                if (same != null) {
                    // Its certificates may be new: the next handshake gets them, open connections keep theirs.
                    next.add(same.serving(config));
                    continue;
                }
                // A listener whose settings changed (or that moves to a wildcard) must let go of the port first;
                // the gap is a bind call long.
                for (Bound old : leaving) {
                    if (!released.contains(old) && config.address().port() != 0
                            && ((InetSocketAddress) old.channel().localAddress()).getPort() == config.address().port()) {
                        old.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
                        released.add(old);
                    }
                }
                Bound bound = bind(config, wanted.size());
                added.add(bound);
                next.add(bound);
            }
        } catch (RuntimeException e) {
            added.forEach(b -> b.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS));
            for (Bound old : released) {
                try {
                    listeners.set(listeners.indexOf(old), bind(old.config(), listeners.size()));
                } catch (RuntimeException again) {
                    LOG.error("listener {} could not be bound again after a refused listener change: {}",
                            old.config().name(), again.getMessage());
                }
            }
            published = List.copyOf(listeners);
            throw e;
        }
        for (Bound old : leaving) {
            old.runtime().tls.ifPresent(TlsTermination::stopWatching);
            old.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            retired.accept(old.channel());
        }
        listeners.clear();
        listeners.addAll(next);
        int autoLimit = ConnectionLimit.autoLimit(openFilesLimit, next.size());
        next.forEach(b -> b.runtime().autoLimitIs(autoLimit));
        published = List.copyOf(listeners);
        return new Gateway.ListenerChanges(
                next.stream().filter(b -> !added.contains(b)).map(Bound::describe).toList(),
                added.stream().map(Bound::describe).toList(),
                leaving.stream().map(Bound::describe).toList());
    }

    /** The addresses the listeners are bound to, in config order (port 0 resolved). */
    List<InetSocketAddress> addresses() {
        return published.stream().map(b -> (InetSocketAddress) b.channel().localAddress()).toList();
    }

    /** Each listener's connections against its limit, in config order. */
    List<ListenerLoad> loads() {
        return published.stream().map(b -> ListenerLoad.of(b.config(), b.runtime().connections)).toList();
    }

    /** Stops watching certificate files; the listening sockets are the gateway's to close. */
    void close() {
        certificateWatcher.shutdownNow();
    }
}
