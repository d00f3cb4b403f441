package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.http.KeepAlive;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool driven with hand-made times, as OkHttp's ConnectionPoolTest drives its pool: every
 * {@code now} is written in the test, and nothing runs on a timer unless a test moves the clock.
 */
class ConnectionPoolTest {
    private static final long SECOND = 1_000_000_000L;
    /** The idle timeout most cases release with; their times are chosen around it. */
    private static final long IDLE_TIMEOUT = 10 * SECOND;

    /**
     * The pool's clock, at 0 until a test advances it. The pool reads it only when a connection
     * closes on its own and when its scheduled eviction runs; the pool's event loop runs on it
     * too, so that eviction never fires on its own.
     */
    private final MockTicker clock = Ticker.newMockTicker();
    private final EmbeddedChannel loop = EmbeddedChannel.builder().ticker(clock).build();
    private final ConnectionPool pool = new ConnectionPool(loop.eventLoop(), clock::nanoTime, 2);
    private final Endpoint endpoint = new Endpoint("c", "10.0.0.1:80",
            InetSocketAddress.createUnresolved("10.0.0.1", 80), Map.of(), 1, false, 0);
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
        loop.finishAndReleaseAll();
    }

    /** A connection that has just carried its first exchange, as the proxy releases it. */
    private UpstreamConnection connection() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channels.add(channel);
        UpstreamConnection c = new UpstreamConnection(endpoint, channel, new UpstreamCodec(8192, 65536).encoder(), 0);
        channel.pipeline().addLast(c);
        c.attach(UpstreamListener.NONE);
        return c;
    }

    /**
     * Closes {@code c}'s channel as Netty does on reading the backend's FIN or RST, and runs
     * {@code sameTurn} before channelInactive reaches the connection: Netty delivers that event
     * as a task after the current turn, and a request read on another channel in the same turn
     * may ask the pool for a connection first.
     */
    private static void inTheTurnItsBackendCloses(UpstreamConnection c, Runnable sameTurn) {
        EmbeddedChannel channel = (EmbeddedChannel) c.channel();
        channel.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object end) {
                ctx.close();
                sameTurn.run();
            }
        });
        // EmbeddedChannel runs queued tasks, channelInactive among them, once writeInbound returns.
        channel.writeInbound("end of stream");
    }

    /** Takes a connection out of the pool for an exchange. */
    private UpstreamConnection take(long now) {
        UpstreamConnection c = pool.acquire(now);
        if (c != null) {
            c.attach(UpstreamListener.NONE);
        }
        return c;
    }

    @Test
    void connectionsAreReusedMostRecentlyUsedFirst() {
        UpstreamConnection older = connection();
        UpstreamConnection newer = connection();
        assertThat(pool.release(older, 0, IDLE_TIMEOUT)).isTrue();
        assertThat(pool.release(newer, SECOND, IDLE_TIMEOUT)).isTrue();

        assertThat(take(2 * SECOND)).isSameAs(newer);
        assertThat(take(2 * SECOND)).isSameAs(older);
        assertThat(take(2 * SECOND)).isNull();
    }

    @Test
    void aConnectionIsReusedUntilItsExpiryAndNeverAfter() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);
        assertThat(take(IDLE_TIMEOUT - 1)).isSameAs(c);

        pool.release(c, SECOND, IDLE_TIMEOUT);
        assertThat(take(SECOND + IDLE_TIMEOUT)).isNull();
        assertThat(c.channel().isOpen()).as("closed when met expired").isFalse();
        assertThat(pool.idleCount()).isZero();
    }

    @Test
    void closeExpiredReturnsTheDelayUntilTheNextExpiryAndMinusOneWhenEmpty() {
        assertThat(pool.closeExpired(0)).isEqualTo(-1);
        UpstreamConnection first = connection();
        UpstreamConnection second = connection();
        pool.release(first, 0, IDLE_TIMEOUT); // expires at 10 s
        pool.release(second, 5 * SECOND, IDLE_TIMEOUT); // expires at 15 s

        assertThat(pool.closeExpired(6 * SECOND)).isEqualTo(4 * SECOND);
        assertThat(pool.idleCount()).isEqualTo(2);

        assertThat(pool.closeExpired(10 * SECOND)).isEqualTo(5 * SECOND);
        assertThat(first.channel().isOpen()).isFalse();
        assertThat(second.channel().isOpen()).isTrue();

        assertThat(pool.closeExpired(15 * SECOND)).isEqualTo(-1);
        assertThat(second.channel().isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
    }

    @Test
    void aConnectionIdleLongerThanTheRequestAllowsIsNotHandedOutButStaysPooled() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);
        long maxIdle = IdleTimeouts.UNLEARNED_NON_RETRYABLE_REUSE_NANOS; // 750 ms

        // A request that could not be retried after a keep-alive race does not take it...
        assertThat(pool.acquire(SECOND, maxIdle)).isNull();
        assertThat(c.channel().isOpen()).isTrue();
        assertThat(pool.idleCount()).isEqualTo(1);
        // ...one that could, does.
        assertThat(pool.acquire(SECOND, Long.MAX_VALUE)).isSameAs(c);
    }

    @Test
    void aConnectionIdleLessThanTheRequestAllowsIsHandedOut() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);
        assertThat(pool.acquire(IdleTimeouts.UNLEARNED_NON_RETRYABLE_REUSE_NANOS - 1,
                IdleTimeouts.UNLEARNED_NON_RETRYABLE_REUSE_NANOS)).isSameAs(c);
    }

    @Test
    void aFullPoolClosesTheExtraConnectionOnRelease() {
        UpstreamConnection a = connection();
        UpstreamConnection b = connection();
        UpstreamConnection extra = connection();
        assertThat(pool.release(a, 0, IDLE_TIMEOUT)).isTrue();
        assertThat(pool.release(b, 0, IDLE_TIMEOUT)).isTrue();

        assertThat(pool.release(extra, 0, IDLE_TIMEOUT)).isFalse();
        assertThat(extra.channel().isOpen()).isFalse();
        assertThat(pool.idleCount()).isEqualTo(2);
        assertThat(a.channel().isOpen()).isTrue();
        assertThat(b.channel().isOpen()).isTrue();
    }

    @Test
    void aConnectionWhoseChannelClosedLeavesThePoolAndTheNextOneIsHandedOut() {
        UpstreamConnection older = connection();
        UpstreamConnection newer = connection();
        pool.release(older, 0, IDLE_TIMEOUT);
        pool.release(newer, SECOND, IDLE_TIMEOUT);

        newer.channel().close(); // the backend's FIN or RST
        assertThat(pool.idleCount()).isEqualTo(1);
        assertThat(take(2 * SECOND)).isSameAs(older);
    }

    @Test
    void aConnectionWhoseSocketClosedIsSkippedBeforeNettySaysSoAndStillTeachesTheEndpoint() {
        UpstreamConnection older = connection();
        UpstreamConnection newer = connection();
        pool.release(older, 0, IDLE_TIMEOUT);
        pool.release(newer, 0, IDLE_TIMEOUT);
        clock.advance(2, TimeUnit.SECONDS);

        UpstreamConnection[] taken = new UpstreamConnection[1];
        inTheTurnItsBackendCloses(newer, () -> taken[0] = take(2 * SECOND));

        assertThat(taken[0]).as("the dead one skipped").isSameAs(older);
        assertThat(newer.channel().isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
        assertThat(endpoint.observedIdleCloseNanos()).as("the backend closed it after 2 s idle").isEqualTo(2 * SECOND);
    }

    @Test
    void aRetiredEndpointsConnectionIsNotPooled() {
        UpstreamConnection c = connection();
        endpoint.retire();
        assertThat(pool.release(c, 0, IDLE_TIMEOUT)).isFalse();
        assertThat(c.channel().isOpen()).isFalse();
        assertThat(pool.idleCount()).isZero();
    }

    @Test
    void aConnectionWithNoIdleTimeIsNotPooled() {
        // A backend advertising Keep-Alive: timeout=0 keeps nothing alive; see IdleTimeouts.
        UpstreamConnection c = connection();
        assertThat(pool.release(c, 0, 0)).isFalse();
        assertThat(c.channel().isOpen()).isFalse();
    }

    @Test
    void aConnectionThatUsedUpItsRequestsIsNotPooled() {
        UpstreamConnection last = connection();
        last.learn(KeepAlive.parse("max=1")); // this exchange was the last the backend accepts
        assertThat(pool.release(last, 0, IDLE_TIMEOUT)).isFalse();
        assertThat(last.channel().isOpen()).isFalse();

        UpstreamConnection oneLeft = connection();
        oneLeft.learn(KeepAlive.parse("max=2"));
        assertThat(pool.release(oneLeft, 0, IDLE_TIMEOUT)).isTrue();
        assertThat(take(SECOND)).isSameAs(oneLeft);
        assertThat(pool.release(oneLeft, SECOND, IDLE_TIMEOUT)).as("its second exchange was its last").isFalse();
        assertThat(oneLeft.channel().isOpen()).isFalse();
    }

    @Test
    void aConnectionTheBackendClosedWhileIdleTeachesTheEndpointItsKeepAliveTimeout() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);
        assertThat(endpoint.keepAliveTimeoutKnown()).isFalse();

        clock.advance(3, TimeUnit.SECONDS);
        c.channel().close(); // the backend's FIN after 3 s idle: not a close of ours

        assertThat(pool.idleCount()).isZero();
        assertThat(endpoint.keepAliveTimeoutKnown()).isTrue();
        assertThat(endpoint.observedIdleCloseNanos()).isEqualTo(3 * SECOND);
    }

    @Test
    void aConnectionThePoolClosesTeachesTheEndpointNothing() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);
        clock.advance(IDLE_TIMEOUT, TimeUnit.NANOSECONDS);
        pool.closeExpired(IDLE_TIMEOUT);

        assertThat(c.channel().isOpen()).isFalse();
        assertThat(endpoint.keepAliveTimeoutKnown()).isFalse();
    }

    @Test
    void releasingAConnectionSchedulesItsEviction() {
        UpstreamConnection c = connection();
        pool.release(c, 0, IDLE_TIMEOUT);

        clock.advance(IDLE_TIMEOUT - 1, TimeUnit.NANOSECONDS);
        loop.runScheduledPendingTasks();
        assertThat(c.channel().isOpen()).isTrue();

        clock.advance(1, TimeUnit.NANOSECONDS);
        loop.runScheduledPendingTasks();
        assertThat(c.channel().isOpen()).isFalse();
    }

    @Test
    void aConnectionExpiringBeforeThoseAlreadyPooledIsEvictedOnTime() {
        UpstreamConnection patient = connection();
        UpstreamConnection hasty = connection();
        pool.release(patient, 0, IDLE_TIMEOUT);
        // The endpoint has since taught a shorter timeout.
        pool.release(hasty, 0, SECOND);

        clock.advance(1, TimeUnit.SECONDS);
        loop.runScheduledPendingTasks();
        assertThat(hasty.channel().isOpen()).isFalse();
        assertThat(patient.channel().isOpen()).isTrue();
    }
}
