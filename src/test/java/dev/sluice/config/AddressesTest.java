package dev.sluice.config;

import static dev.sluice.config.ParsedAssert.reason;
import static dev.sluice.config.ParsedAssert.value;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AddressesTest {

    @Test
    void hostAndPortAreSplitAtTheLastColon() {
        assertThat(value(Addresses.parse("127.0.0.1:8080", 1))).isEqualTo(new HostPort("127.0.0.1", 8080));
        assertThat(value(Addresses.parse("backend.internal:80", 1))).isEqualTo(new HostPort("backend.internal", 80));
        assertThat(value(Addresses.parse("my_app:3000", 1))).isEqualTo(new HostPort("my_app", 3000));
        assertThat(value(Addresses.parse("localhost:65535", 1))).isEqualTo(new HostPort("localhost", 65535));
    }

    @Test
    void ipv6LiteralsAreBracketedAndStoredWithoutBrackets() {
        HostPort address = value(Addresses.parse("[::1]:8080", 1));
        assertThat(address).isEqualTo(new HostPort("::1", 8080));
        assertThat(address).hasToString("[::1]:8080");
        assertThat(value(Addresses.parse("[2001:db8::10]:443", 1))).isEqualTo(new HostPort("2001:db8::10", 443));
        assertThat(value(Addresses.parse("[fe80::1%eth0]:80", 1))).isEqualTo(new HostPort("fe80::1%eth0", 80));
    }

    @Test
    void portZeroIsOnlyAllowedWhereAnEphemeralPortMakesSense() {
        assertThat(value(Addresses.parse("127.0.0.1:0", 0))).isEqualTo(new HostPort("127.0.0.1", 0));
        assertThat(reason(Addresses.parse("127.0.0.1:0", 1)))
                .isEqualTo("invalid address '127.0.0.1:0': port must be a number from 1 to 65535");
    }

    @Test
    void malformedAddressesSayWhatIsWrong() {
        assertThat(reason(Addresses.parse("127.0.0.1", 1)))
                .isEqualTo("invalid address '127.0.0.1': missing port; expected host:port, e.g. 127.0.0.1:8080");
        assertThat(reason(Addresses.parse("8088", 0))).as("a port alone: the host is what is missing").isEqualTo(
                "invalid address '8088': missing host: write 127.0.0.1:8088 (this machine only) or 0.0.0.0:8088 (every interface)");
        assertThat(reason(Addresses.parse("127.0.0.1:http", 1)))
                .isEqualTo("invalid address '127.0.0.1:http': port must be a number from 1 to 65535");
        assertThat(reason(Addresses.parse("127.0.0.1:65536", 1)))
                .isEqualTo("invalid address '127.0.0.1:65536': port must be a number from 1 to 65535");
        assertThat(reason(Addresses.parse("::1:8080", 1)))
                .isEqualTo("invalid address '::1:8080': IPv6 addresses need brackets, e.g. [::1]:8080");
        assertThat(reason(Addresses.parse("[::1", 1))).isEqualTo("invalid address '[::1': missing ']' after the IPv6 address");
        assertThat(reason(Addresses.parse("[::1]8080", 1)))
                .isEqualTo("invalid address '[::1]8080': missing ':port' after ']', e.g. [::1]:8080");
        assertThat(reason(Addresses.parse("[::g]:80", 1))).isEqualTo("invalid address '[::g]:80': '::g' is not a valid IPv6 address");
        assertThat(reason(Addresses.parse("[127.0.0.1]:80", 1)))
                .isEqualTo("invalid address '[127.0.0.1]:80': '127.0.0.1' is not a valid IPv6 address");
        assertThat(reason(Addresses.parse("256.0.0.1:80", 1)))
                .isEqualTo("invalid address '256.0.0.1:80': '256.0.0.1' is not a valid IPv4 address");
        assertThat(reason(Addresses.parse("bad host:80", 1)))
                .isEqualTo("invalid address 'bad host:80': 'bad host' is not a valid host name");
        assertThat(reason(Addresses.parse("-a.example:80", 1)))
                .isEqualTo("invalid address '-a.example:80': '-a.example' is not a valid host name");
        assertThat(reason(Addresses.parse(":80", 1)))
                .isEqualTo("invalid address ':80': host is empty (to listen on every interface, write 0.0.0.0:80)");
    }
}
