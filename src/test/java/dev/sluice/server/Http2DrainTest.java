package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The drain over HTTP/2: the connection gets GOAWAY naming the last stream it took, that stream's
 * response still comes whole, and then the connection closes; the gateway counts the stream as
 * in flight until it ends, so the drain waits for it.
 */
class Http2DrainTest {
    @Test
    void aDrainSendsGoAwayLetsTheStreamInFlightFinishThenCloses() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.delayed(Duration.ofMillis(700),
                     BackendHandlers.fixed(200, "finished")));
             TestGateway gateway = TestGateway.fromYaml(
                     H2cTarget.yaml("", backend.authority(), "concurrency: { limit: off }"));
             RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(1, request("GET", "/slow"), true);
            dev.sluice.testing.Await.until(Duration.ofSeconds(5), () -> gateway.gateway().activeExchanges() == 1,
                    "the stream is in flight");
            gateway.gateway().drainOnNextResponse();
            gateway.gateway().closeIdleClientConnections();

            RawH2Client.Frame goAway = client.next();
            assertThat(goAway.type()).isEqualTo(RawH2Client.GOAWAY);
            assertThat(goAway.errorCode()).isZero();
            int lastStream = ((goAway.payload()[0] & 0x7f) << 24) | ((goAway.payload()[1] & 0xff) << 16)
                    | ((goAway.payload()[2] & 0xff) << 8) | (goAway.payload()[3] & 0xff);
            assertThat(lastStream).as("the last stream taken").isEqualTo(1);
            assertThat(gateway.gateway().activeExchanges()).as("still in flight after the GOAWAY").isEqualTo(1);
            assertThat(client.status(1)).isEqualTo(200);
            assertThat(client.closedByServer()).isTrue();
            assertThat(gateway.gateway().activeExchanges()).isZero();
        }
    }
}
