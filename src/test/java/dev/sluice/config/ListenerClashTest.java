package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Listener addresses that cannot all be bound are errors before anything starts, not a failed bind at run time. */
class ListenerClashTest {
    private static String listeners(String... addresses) {
        StringBuilder yaml = new StringBuilder("listeners:\n");
        for (int i = 0; i < addresses.length; i++) {
            yaml.append("  - { name: l").append(i).append(", address: \"").append(addresses[i]).append("\" }\n");
        }
        return yaml + """
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """;
    }

    @Test
    void aWildcardListenerClashesWithAnyIpv4AddressOnTheSamePort() {
        assertThat(problems(listeners("127.0.0.1:8080", "0.0.0.0:8080"))).containsExactly(
                "3:26: listener address '0.0.0.0:8080' clashes with '127.0.0.1:8080' (defined at 2:26): 0.0.0.0 "
                        + "already takes port 8080 on every IPv4 address, so the other bind would fail");
    }

    @Test
    void theIpv6WildcardClashesWithIpv4TooOnDualStackSockets() {
        assertThat(problems(listeners("[::]:8080", "10.1.2.3:8080"))).singleElement().asString()
                .contains("clashes with '[::]:8080'").contains("[::] already takes port 8080 on every address, IPv4 included");
    }

    @Test
    void localhostIsTheLoopbackAddress() {
        assertThat(problems(listeners("127.0.0.1:8080", "localhost:8080"))).singleElement().asString()
                .contains("listener address 'localhost:8080' clashes with '127.0.0.1:8080'");
    }

    @Test
    void differentPortsDifferentAddressesAndPortZeroDoNotClash() throws ConfigException {
        assertThat(ConfigLoader.parse(listeners("0.0.0.0:8080", "0.0.0.0:8081", "127.0.0.1:9000", "127.0.0.2:9000",
                "127.0.0.1:0", "0.0.0.0:0", "[::1]:8080"), "x.yaml").listeners()).hasSize(7);
    }

    @Test
    void theAdminAddressMayNotClashWithAListener() {
        assertThat(problems(listeners("0.0.0.0:8080") + "admin: { address: 127.0.0.1:8080 }\n")).containsExactly(
                "9:19: admin.address: '127.0.0.1:8080' clashes with listener address '0.0.0.0:8080' (defined at 2:26): "
                        + "both cannot be bound");
    }
}
