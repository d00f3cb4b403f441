package dev.sluice.upstream;

import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DefaultDnsCache;
import io.netty.resolver.dns.DnsCache;
import io.netty.resolver.dns.DnsCacheEntry;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverTimeoutException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Host names resolved by Netty's asynchronous DNS resolver ({@code netty-resolver-dns}) rather
 * than the JDK's {@code InetAddress}: it answers without a thread blocked per lookup, it knows
 * each record's TTL (the JDK's resolver hides it behind its own 30 s cache), and it caches
 * answers for exactly their TTL, so asking again before it runs out costs no query. It reads the
 * system's {@code /etc/resolv.conf} (servers, search domains, ndots) and {@code /etc/hosts}, as
 * other programs on the host do; what it cannot do is ask nsswitch's other sources (LDAP, mDNS).
 *
 * <p>IPv4 is preferred: a name with A records gives those, one with only AAAA records its IPv6
 * addresses (Envoy's {@code V4_PREFERRED}), so a dual-stack name is not counted twice.
 */
public final class DnsResolver implements NameResolver {
    private final DnsNameResolver resolver;
    private final TtlRecorder ttls;

    private DnsResolver(DnsNameResolver resolver, TtlRecorder ttls) {
        this.resolver = resolver;
        this.ttls = ttls;
    }

    /** A resolver that runs on {@code loop} (Sluice's {@code sluice-dns} thread, a NIO loop). */
    public static DnsResolver on(EventLoop loop, LongSupplier nanoClock) {
        TtlRecorder ttls = new TtlRecorder(new DefaultDnsCache(), nanoClock);
        DnsNameResolver resolver = new DnsNameResolverBuilder(loop)
                .datagramChannelType(NioDatagramChannel.class)
                .resolveCache(ttls)
                .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED)
                .build();
        return new DnsResolver(resolver, ttls);
    }

    @Override
    public CompletionStage<Answer> resolve(String host) {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        resolver.resolveAll(host).addListener(f -> {
            if (!f.isSuccess()) {
                answer.complete(new Answer.Failed(describe(f.cause())));
                return;
            }
            @SuppressWarnings("unchecked")
            List<InetAddress> all = (List<InetAddress>) f.getNow();
            List<InetAddress> v4 = all.stream().filter(a -> a instanceof Inet4Address).toList();
            List<InetAddress> chosen = v4.isEmpty() ? all : v4;
            answer.complete(chosen.isEmpty() ? new Answer.Failed("no address")
                    : new Answer.Addresses(chosen, ttls.remainingNanos(chosen)));
        });
        return answer;
    }

    /** Why a lookup failed, in a sentence: "no such name", "no answer from the DNS server". */
    static String describe(Throwable cause) {
        if (cause instanceof UnknownHostException) {
            return cause.getCause() instanceof DnsNameResolverTimeoutException
                    ? "no answer from the DNS server" : "no such name";
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    @Override
    public void close() {
        resolver.close();
    }

    /**
     * Netty's cache, remembering when each address it caches runs out, so an answer can say how
     * long it holds. By address, not name: a name found through a search domain is cached under
     * its full name.
     */
    static final class TtlRecorder implements DnsCache {
        private final DnsCache cache;
        private final LongSupplier nanoClock;
        private final Map<InetAddress, Long> expiresAt = new ConcurrentHashMap<>();

        TtlRecorder(DnsCache cache, LongSupplier nanoClock) {
            this.cache = cache;
            this.nanoClock = nanoClock;
        }

        /** The shortest time left of {@code addresses}' records, or -1 when none was cached (a hosts file). */
        long remainingNanos(List<InetAddress> addresses) {
            long now = nanoClock.getAsLong();
            long least = Long.MAX_VALUE;
            for (InetAddress a : addresses) {
                Long at = expiresAt.get(a);
                if (at != null) {
                    least = Math.min(least, Math.max(0, at - now));
                }
            }
            return least == Long.MAX_VALUE ? -1 : least;
        }

        @Override
        public DnsCacheEntry cache(String hostname, DnsRecord[] additionals, InetAddress address, long originalTtl,
                                   EventLoop loop) {
            expiresAt.put(address, nanoClock.getAsLong() + TimeUnit.SECONDS.toNanos(originalTtl));
            return cache.cache(hostname, additionals, address, originalTtl, loop);
        }

        @Override
        public DnsCacheEntry cache(String hostname, DnsRecord[] additionals, Throwable cause, EventLoop loop) {
            return cache.cache(hostname, additionals, cause, loop);
        }

        @Override
        public List<? extends DnsCacheEntry> get(String hostname, DnsRecord[] additionals) {
            return cache.get(hostname, additionals);
        }

        @Override
        public void clear() {
            expiresAt.clear();
            cache.clear();
        }

        @Override
        public boolean clear(String hostname) {
            return cache.clear(hostname);
        }
    }
}
