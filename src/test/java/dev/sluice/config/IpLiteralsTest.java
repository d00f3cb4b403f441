package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class IpLiteralsTest {

    @Test
    void ipv4IsFourDecimalPartsWithoutLeadingZeros() throws Exception {
        byte[] expected = InetAddress.getByName("192.168.0.255").getAddress();
        assertThat(IpLiterals.v4("192.168.0.255")).hasValueSatisfying(b -> assertThat(b).containsExactly(expected));
        assertThat(IpLiterals.v4("256.1.1.1")).isEmpty();
        assertThat(IpLiterals.v4("1.2.3")).isEmpty();
        assertThat(IpLiterals.v4("1.2.3.4.5")).isEmpty();
        assertThat(IpLiterals.v4("01.2.3.4")).isEmpty();
        assertThat(IpLiterals.v4("1..3.4")).isEmpty();
        assertThat(IpLiterals.v4("a.b.c.d")).isEmpty();
    }

    @Test
    void ipv6TextFormsAgreeWithTheJdk() throws Exception {
        for (String text : new String[] {"::", "::1", "1::", "2001:db8::8:800:200c:417a", "ff01::101",
                "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "::ffff:192.0.2.1", "64:ff9b::10.0.0.1", "FE80::0001"}) {
            // The JDK turns ::ffff:a.b.c.d into an IPv4 address; getByAddress does the same to ours.
            InetAddress expected = InetAddress.getByName("[" + text + "]");
            byte[] parsed = IpLiterals.v6(text).orElseThrow(() -> new AssertionError(text));
            assertThat(parsed).as(text).hasSize(16);
            assertThat(InetAddress.getByAddress(parsed)).as(text).isEqualTo(expected);
        }
    }

    @Test
    void malformedIpv6IsRefused() {
        for (String text : new String[] {"", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3",
                "12345::", "g::", ":1::", "::1:", "1:2:3:4:5:6:7::8:9", "::1.2.3", "1.2.3.4::"}) {
            assertThat(IpLiterals.v6(text)).as(text).isEmpty();
        }
    }

    @Test
    void formatCompressesTheLongestZeroRun() {
        assertThat(IpLiterals.format(IpLiterals.v6("2001:db8:0:0:1:0:0:0").orElseThrow())).isEqualTo("2001:db8:0:0:1::");
        assertThat(IpLiterals.format(IpLiterals.v6("0:0:0:0:0:0:0:1").orElseThrow())).isEqualTo("::1");
        assertThat(IpLiterals.format(IpLiterals.v6("2001:db8:0:1:1:1:1:1").orElseThrow())).isEqualTo("2001:db8:0:1:1:1:1:1");
        assertThat(IpLiterals.format(new byte[16])).isEqualTo("::");
        assertThat(IpLiterals.format(IpLiterals.v4("10.0.0.0").orElseThrow())).isEqualTo("10.0.0.0");
    }
}
