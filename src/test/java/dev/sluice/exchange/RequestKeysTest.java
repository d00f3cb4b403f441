package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import dev.sluice.observe.RequestLog;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

/** Which address a per-client limit counts by: X-Forwarded-For believed only as far as trusted proxies wrote it. */
class RequestKeysTest {
    /** 10.0.0.0/8 and 2001:db8::/32 are the proxies. */
    private static final TrustedProxies PROXIES = address -> {
        byte[] a = address.getAddress();
        return a.length == 4 ? a[0] == 10 : a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && (a[3] & 0xff) == 0xb8;
    };

    private static String client(String peer, boolean peerTrusted, String... forwardedFor) {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/lease");
        for (String value : forwardedFor) {
            request.headers().add("x-forwarded-for", value);
        }
        return new RequestKeys(request, null, peer, peerTrusted, PROXIES, new RequestLog(0, 0)).client();
    }

    @Test
    void fromAPeerThatIsNoTrustedProxyTheHeaderIsNotBelieved() {
        assertThat(client("203.0.113.9", false, "192.0.2.1")).isEqualTo("203.0.113.9");
    }

    @Test
    void fromATrustedProxyTheAddressItSawIsTheClient() {
        assertThat(client("10.0.0.2", true, "192.0.2.1")).isEqualTo("192.0.2.1");
    }

    @Test
    void whatAClientWroteLeftOfTheAddressTheProxySawIsNeverBelieved() {
        // The client sent "X-Forwarded-For: 198.51.100.1" itself; the proxy appended what it saw.
        assertThat(client("10.0.0.2", true, "198.51.100.1, 192.0.2.1")).isEqualTo("192.0.2.1");
    }

    @Test
    void trustedProxiesInTheChainAreSkippedFromTheRight() {
        assertThat(client("10.0.0.2", true, "198.51.100.1, 192.0.2.1, 10.1.1.1, 10.2.2.2")).isEqualTo("192.0.2.1");
        assertThat(client("10.0.0.2", true, "198.51.100.1, 192.0.2.1", "10.1.1.1")).as("split over two lines")
                .isEqualTo("192.0.2.1");
    }

    @Test
    void whenEveryAddressIsATrustedProxysTheLeftmostIsTheClient() {
        assertThat(client("10.0.0.2", true, "10.9.9.9, 10.1.1.1")).isEqualTo("10.9.9.9");
        assertThat(client("10.0.0.2", true)).as("no header at all: the proxy itself").isEqualTo("10.0.0.2");
    }

    @Test
    void somethingThatIsNoAddressStopsTheWalkAtTheLastAddressBelieved() {
        assertThat(client("10.0.0.2", true, "192.0.2.1, unknown")).isEqualTo("10.0.0.2");
        assertThat(client("10.0.0.2", true, "unknown, 10.1.1.1")).isEqualTo("10.1.1.1");
    }

    @Test
    void portsBracketsAndIpv6SpellingsNameOneClient() {
        assertThat(client("10.0.0.2", true, "192.0.2.1:4711")).isEqualTo("192.0.2.1");
        assertThat(client("10.0.0.2", true, "[2001:DB9:0:0::1]:443")).isEqualTo("2001:db9::1");
        assertThat(client("10.0.0.2", true, "2001:db9::1, 2001:db8::7")).isEqualTo("2001:db9::1");
        assertThat(client("10.0.0.2", true, "192.0.2.1 ,,")).isEqualTo("192.0.2.1");
    }

    @Test
    void aHeaderKeyIsTheFieldsFirstValue() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/lease");
        request.headers().add("X-Api-Key", "k1").add("x-api-key", "k2");
        RequestKeys keys = new RequestKeys(request, null, "192.0.2.1", false, TrustedProxies.NONE, new RequestLog(0, 0));
        assertThat(keys.header("x-api-key")).isEqualTo("k1");
        assertThat(keys.header("x-other")).isNull();
    }

}
