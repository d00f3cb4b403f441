package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class PeerNamesTest {

    @Test
    void connectionsFromOneAddressShareOneText() throws Exception {
        String first = PeerNames.of(InetAddress.getByName("203.0.113.7"));
        String second = PeerNames.of(InetAddress.getByAddress(new byte[] {(byte) 203, 0, 113, 7}));

        assertThat(first).isEqualTo("203.0.113.7");
        assertThat(second).isSameAs(first);
    }

    @Test
    void addressesThatShareASlotEachGetTheirOwnText() throws Exception {
        // Inet4Address hashes to its 32-bit value: these two differ by 64, so they take one slot.
        InetAddress a = InetAddress.getByName("10.0.0.1");
        InetAddress b = InetAddress.getByName("10.0.0.65");

        assertThat(PeerNames.of(a)).isEqualTo("10.0.0.1");
        assertThat(PeerNames.of(b)).isEqualTo("10.0.0.65");
        assertThat(PeerNames.of(a)).isEqualTo("10.0.0.1");
        assertThat(PeerNames.of(InetAddress.getByName("::1"))).isEqualTo("0:0:0:0:0:0:0:1");
    }

    @Test
    void aScopedIpv6AddressKeepsItsOwnScope() throws Exception {
        byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
        InetAddress scope1 = Inet6Address.getByAddress(null, linkLocal, 1);
        InetAddress scope2 = Inet6Address.getByAddress(null, linkLocal, 2);

        assertThat(PeerNames.of(scope1)).isEqualTo("fe80:0:0:0:0:0:0:1%1");
        assertThat(PeerNames.of(scope2)).isEqualTo("fe80:0:0:0:0:0:0:1%2");
    }
}
