package dev.sluice.config;

import static dev.sluice.config.ParsedAssert.reason;
import static dev.sluice.config.ParsedAssert.value;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CidrsTest {

    @Test
    void networksAreAcceptedAsWritten() {
        assertThat(value(Cidrs.parse("10.0.0.0/8"))).isEqualTo("10.0.0.0/8");
        assertThat(value(Cidrs.parse("127.0.0.1/32"))).isEqualTo("127.0.0.1/32");
        assertThat(value(Cidrs.parse("0.0.0.0/0"))).isEqualTo("0.0.0.0/0");
        assertThat(value(Cidrs.parse("172.16.0.0/12"))).isEqualTo("172.16.0.0/12");
        assertThat(value(Cidrs.parse("::1/128"))).isEqualTo("::1/128");
        assertThat(value(Cidrs.parse("2001:db8::/32"))).isEqualTo("2001:db8::/32");
        assertThat(value(Cidrs.parse("::/0"))).isEqualTo("::/0");
        assertThat(value(Cidrs.parse("::ffff:10.0.0.0/104"))).isEqualTo("::ffff:10.0.0.0/104");
    }

    @Test
    void aBareAddressMeansThatOneAddress() {
        assertThat(value(Cidrs.parse("192.168.1.7"))).isEqualTo("192.168.1.7/32");
        assertThat(value(Cidrs.parse("fd00::7"))).isEqualTo("fd00::7/128");
    }

    @Test
    void hostBitsSetIsRefusedWithTheNetworkItProbablyMeant() {
        assertThat(reason(Cidrs.parse("10.0.0.1/8")))
                .isEqualTo("invalid CIDR '10.0.0.1/8': host bits are set (did you mean '10.0.0.0/8'?)");
        assertThat(reason(Cidrs.parse("172.16.5.4/12")))
                .isEqualTo("invalid CIDR '172.16.5.4/12': host bits are set (did you mean '172.16.0.0/12'?)");
        assertThat(reason(Cidrs.parse("2001:db8::1/32")))
                .isEqualTo("invalid CIDR '2001:db8::1/32': host bits are set (did you mean '2001:db8::/32'?)");
    }

    @Test
    void prefixLengthMustFitTheAddressFamily() {
        assertThat(reason(Cidrs.parse("10.0.0.0/33")))
                .isEqualTo("invalid CIDR '10.0.0.0/33': prefix length must be a number from 0 to 32");
        assertThat(reason(Cidrs.parse("::/129"))).isEqualTo("invalid CIDR '::/129': prefix length must be a number from 0 to 128");
        assertThat(reason(Cidrs.parse("10.0.0.0/"))).isEqualTo("invalid CIDR '10.0.0.0/': prefix length must be a number from 0 to 32");
        assertThat(reason(Cidrs.parse("10.0.0.0/-1"))).isEqualTo("invalid CIDR '10.0.0.0/-1': prefix length must be a number from 0 to 32");
    }

    @Test
    void somethingThatIsNotAnAddressIsRefusedWithoutADnsLookup() {
        assertThat(reason(Cidrs.parse("localhost/32"))).isEqualTo("invalid CIDR 'localhost/32': 'localhost' is not an IP address");
        assertThat(reason(Cidrs.parse("10.0.0/8"))).isEqualTo("invalid CIDR '10.0.0/8': '10.0.0' is not an IP address");
        assertThat(reason(Cidrs.parse("010.0.0.0/8"))).isEqualTo("invalid CIDR '010.0.0.0/8': '010.0.0.0' is not an IP address");
    }
}
