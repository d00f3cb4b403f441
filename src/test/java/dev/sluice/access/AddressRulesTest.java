package dev.sluice.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Allow and deny lists: deny wins, both families, and text that is not an address never gets in. */
class AddressRulesTest {
    @Test
    void denyWinsOverAllowWhateverTheOrder() {
        AddressRules rules = AddressRules.of(List.of("10.0.0.0/8"), List.of("10.0.0.13/32"));
        assertThat(rules.admits("10.1.2.3")).isTrue();
        assertThat(rules.admits("10.0.0.13")).isFalse();
        assertThat(rules.admits("192.0.2.1")).isFalse();
    }

    @Test
    void aDenyListAloneLetsEveryoneElseIn() {
        AddressRules rules = AddressRules.of(List.of(), List.of("192.0.2.0/24", "2001:db8::/32"));
        assertThat(rules.admits("198.51.100.1")).isTrue();
        assertThat(rules.admits("192.0.2.77")).isFalse();
        assertThat(rules.admits("2001:db8:0:0:0:0:0:1")).isFalse();
        assertThat(rules.admits("2001:db9::1")).isTrue();
    }

    @Test
    void ipv6BlocksMatchAnyTextFormOfTheAddress() {
        AddressRules rules = AddressRules.of(List.of("2001:db8::/32", "::1/128"), List.of());
        assertThat(rules.admits("2001:db8::5")).isTrue();
        assertThat(rules.admits("2001:0db8:0000:0000:0000:0000:0000:0005")).isTrue();
        assertThat(rules.admits("0:0:0:0:0:0:0:1")).isTrue();
        assertThat(rules.admits("2001:db9::5")).isFalse();
    }

    @Test
    void anIpv4MappedIpv6PeerIsJudgedAsItsIpv4Address() {
        assertThat(AddressRules.of(List.of("10.0.0.0/8"), List.of()).admits("::ffff:10.1.2.3")).isTrue();
    }

    @Test
    void textThatIsNotAnAddressIsRefusedWhenThereAreRules() {
        AddressRules rules = AddressRules.of(List.of(), List.of("192.0.2.0/24"));
        assertThat(rules.admits("-")).isFalse();
        assertThat(rules.admits("unknown")).isFalse();
        assertThat(AddressRules.NONE.admits("-")).isTrue();
    }
}
