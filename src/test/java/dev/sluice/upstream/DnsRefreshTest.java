package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DnsRefreshTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void aNameIsAskedAgainWhenItsTtlRunsOutIfThatIsSoonerThanTheRefresh() {
        long refresh = 30 * SECOND;
        assertThat(DnsRefresh.nextDelay(-1, refresh)).as("no TTL known (a hosts file)").isEqualTo(refresh);
        assertThat(DnsRefresh.nextDelay(5 * SECOND, refresh)).isEqualTo(5 * SECOND);
        assertThat(DnsRefresh.nextDelay(300 * SECOND, refresh)).as("a long TTL waits no longer than the refresh")
                .isEqualTo(refresh);
        assertThat(DnsRefresh.nextDelay(0, refresh)).as("TTL 0 is not a reason to ask continuously")
                .isEqualTo(SECOND);
        assertThat(DnsRefresh.nextDelay(0, SECOND / 5)).as("unless dns_refresh itself is shorter")
                .isEqualTo(SECOND / 5);
    }

    @Test
    void nettysResolverAnswersFromTheHostsFileWithoutATtl() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (DnsResolver resolver = DnsResolver.on(group.next(), System::nanoTime)) {
            NameResolver.Answer answer = resolver.resolve("localhost").toCompletableFuture().get(10, TimeUnit.SECONDS);
            InetAddress loopback = InetAddress.getByName("127.0.0.1");
            assertThat(answer).isInstanceOfSatisfying(NameResolver.Answer.Addresses.class, found -> {
                assertThat(found.addresses()).contains(loopback);
                assertThat(found.ttlNanos()).isEqualTo(-1);
            });
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void theTtlOfAnAnswerIsTheShortestLeftOfItsRecords() throws Exception {
        long[] now = {0};
        DnsResolver.TtlRecorder ttls = new DnsResolver.TtlRecorder(new io.netty.resolver.dns.DefaultDnsCache(),
                () -> now[0]);
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress b = InetAddress.getByName("192.0.2.2");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            ttls.cache("svc.test", new io.netty.handler.codec.dns.DnsRecord[0], a, 30, group.next());
            ttls.cache("svc.test", new io.netty.handler.codec.dns.DnsRecord[0], b, 10, group.next());
            now[0] = 4 * SECOND;
            assertThat(ttls.remainingNanos(java.util.List.of(a, b))).isEqualTo(6 * SECOND);
            assertThat(ttls.remainingNanos(java.util.List.of(InetAddress.getByName("192.0.2.3")))).isEqualTo(-1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
