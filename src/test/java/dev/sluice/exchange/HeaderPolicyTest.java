package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;

/** What Sluice removes before forwarding a head, and what it must never remove. */
class HeaderPolicyTest {
    @Test
    void hopByHopFieldsAndEveryFieldConnectionNamesGoOthersStay() {
        HttpHeaders h = new DefaultHttpHeaders()
                .add("Host", "shop")
                .add("Connection", "keep-alive, X-Secret ,,\tx-other\t")
                .add("connection", "X-Third")
                .add("X-Secret", "s").add("X-Other", "o").add("x-third", "t")
                .add("Keep-Alive", "timeout=5").add("TE", "trailers").add("Upgrade", "websocket")
                .add("Proxy-Connection", "keep-alive").add("Proxy-Authenticate", "Basic").add("HTTP2-Settings", "AAA")
                .add("X-Kept", "yes").add("Content-Length", "3");
        HeaderPolicy.removeHopByHop(h);
        assertThat(h.names()).containsExactlyInAnyOrder("Host", "X-Kept", "Content-Length");
    }

    @Test
    void connectionCannotStripFramingOrRoutingFields() {
        HttpHeaders h = new DefaultHttpHeaders().add("Host", "shop").add("Content-Length", "3")
                .add("Transfer-Encoding", "chunked").add("Connection", "host, Content-Length, transfer-encoding");
        HeaderPolicy.removeHopByHop(h);
        assertThat(h.names()).containsExactlyInAnyOrder("Host", "Content-Length", "Transfer-Encoding");
    }

    @Test
    void fieldsOfADecodedResponseAsViewsOfItsBytesAreRemovedToo() {
        HttpHeaders h = new DefaultHttpHeaders()
                .add(AsciiString.of("connection"), new AsciiString("keep-alive, x-private"))
                .add(AsciiString.of("x-private"), AsciiString.of("1"))
                .add(AsciiString.of("keep-alive"), AsciiString.of("timeout=5"))
                .add(AsciiString.of("content-type"), AsciiString.of("text/plain"));
        HeaderPolicy.removeHopByHop(h);
        assertThat(h.names()).containsExactly("content-type");
    }

    @Test
    void aHeadWithNothingToRemoveIsLeftAsItIs() {
        HttpHeaders h = new DefaultHttpHeaders().add("Host", "shop").add("Accept", "*/*");
        HeaderPolicy.removeHopByHop(h);
        assertThat(h.entries()).hasSize(2);
    }
}
