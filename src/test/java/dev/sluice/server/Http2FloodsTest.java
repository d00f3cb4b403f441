package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Http2Config;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Floods of frames that cost the client nothing and oblige the server to work or to answer
 * (RFC 9113 §10.5): PING and SETTINGS frames from a client that never reads the acknowledgements
 * (Sluice's codec, its writes never completing), and empty DATA frames (a real listener, frames
 * written by hand with {@link RawH2Client}). Each ends the flooder's connection long before the
 * flood ends, holding a bounded number of answers; another client is served meanwhile.
 */
class Http2FloodsTest {
    static H2cTarget target;

    @BeforeAll
    static void start() throws Exception {
        target = H2cTarget.start("");
    }

    @AfterAll
    static void stop() {
        target.close();
    }

    @Test
    void aPingFloodFromAClientThatNeverReadsEndsItsConnectionWithBoundedAnswersHeld() {
        assertControlFloodEndsConnection(new byte[] {0, 0, 8, RawH2Client.PING, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
    }

    @Test
    void aSettingsFloodFromAClientThatNeverReadsEndsItsConnectionWithBoundedAnswersHeld() {
        assertControlFloodEndsConnection(new byte[] {0, 0, 0, RawH2Client.SETTINGS, 0, 0, 0, 0, 0});
    }

    @Test
    void emptyDataFramesEndTheConnectionAndTheRequestIsNeverForwardedWhole() throws Exception {
        target.backend.clearRequests();
        int sent = 0;
        try (RawH2Client attacker = new RawH2Client(target.gateway.address())) {
            attacker.headers(1, request("POST", "/empty-flood"), false);
            try {
                for (; sent < 10_000; sent++) {
                    attacker.frame(RawH2Client.DATA, 0, 1, new byte[0]);
                    if (sent % 100 == 0) {
                        attacker.flush();
                    }
                }
                attacker.flush();
            } catch (IOException closedMidFlood) {
                // The server closed the connection while the flood was still being written.
            }
            RawH2Client.Frame goAway = goAway(attacker);
            assertThat(goAway).as("a GOAWAY").isNotNull();
            assertThat(goAway.errorCode()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
            assertThat(attacker.closedByServer()).isTrue();
        }
        target.anotherClientIsServed();
        assertThat(target.backend.requests()).extracting(dev.sluice.testing.RecordedRequest::uri)
                .as("the flooded request never reached the backend whole").containsExactly("/other");
    }

    /**
     * Sluice's HTTP/2 codec ({@link Http2ClientConnection#codec}, as every h2 listener has it) in
     * front of a client that never reads: no write of the server's ever completes, as on a socket
     * whose buffers are full. The flood comes in reads of 1,000 frames, as a socket delivers it.
     * The codec must end the connection with GOAWAY {@code ENHANCE_YOUR_CALM} once 10,000
     * answers wait, holding no more than those and the rest of the read that crossed the limit.
     * (On a real socket the same happens only after the kernel's send buffer, up to 4 MiB, has
     * filled: some 250,000 PINGs, too slow for a shared 2-core test machine; the fuzz target
     * {@code Http2FramesFuzzTest} floods a real listener.)
     */
    private static void assertControlFloodEndsConnection(byte[] frame) {
        List<ChannelPromise> pending = new ArrayList<>();
        List<Integer> frameTypesWritten = new ArrayList<>();
        EmbeddedChannel connection = new EmbeddedChannel();
        connection.pipeline().addLast(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ByteBuf bytes = (ByteBuf) msg;
                if (bytes.readableBytes() >= 9) {
                    frameTypesWritten.add((int) bytes.getByte(bytes.readerIndex() + 3));
                }
                bytes.release();
                pending.add(promise);
            }

            @Override
            public void flush(ChannelHandlerContext ctx) {
                // Never reaches the client.
            }
        });
        connection.pipeline().addLast(Http2ClientConnection.codec(Http2Config.DEFAULT));
        connection.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        });
        int perRead = 1_000;
        ByteBuf read = Unpooled.buffer();
        read.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
        read.writeBytes(new byte[] {0, 0, 0, RawH2Client.SETTINGS, 0, 0, 0, 0, 0});
        int reads = 0;
        for (; reads < 100 && connection.isOpen(); reads++) {
            for (int i = 0; i < perRead; i++) {
                read.writeBytes(frame);
            }
            connection.writeInbound(read);
            connection.runPendingTasks();
            read = Unpooled.buffer();
        }
        read.release();
        try {
            assertThat(connection.isOpen()).as("the connection after %,d frames", reads * perRead).isFalse();
            assertThat(frameTypesWritten).as("a GOAWAY among the writes").contains((int) RawH2Client.GOAWAY);
            assertThat(pending.size()).as("writes held for the client that never reads")
                    .isLessThanOrEqualTo(10_000 + perRead + 10);
        } finally {
            // Completing them lets Netty free what it kept for them (the GOAWAY's debug data).
            pending.forEach(ChannelPromise::trySuccess);
            connection.finishAndReleaseAll();
        }
    }

    private static RawH2Client.Frame goAway(RawH2Client client) throws IOException {
        RawH2Client.Frame frame;
        do {
            frame = client.next();
        } while (frame != null && frame.type() != RawH2Client.GOAWAY);
        return frame;
    }
}
