package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import java.io.IOException;

/**
 * What the HTTP/2 attack tests attack: Sluice with an h2c listener (HTTP/2 by prior knowledge,
 * so frames can be written by hand with {@link RawH2Client}) in front of a backend that answers
 * every request 200 "served", with no concurrency limit in the way; and the check that another
 * client is still served whatever the attack did.
 */
final class H2cTarget implements AutoCloseable {
    final TestBackend backend;
    final TestGateway gateway;

    private H2cTarget(TestBackend backend, TestGateway gateway) {
        this.backend = backend;
        this.gateway = gateway;
    }

    /** Started with the listener's {@code http2} map holding {@code h2c: true} and {@code http2Settings} ("" or ", key: value, ..."). */
    static H2cTarget start(String http2Settings) throws Exception {
        TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "served"));
        try {
            return new H2cTarget(backend, TestGateway.fromYaml(yaml(http2Settings, backend.authority(), "concurrency: { limit: off }")));
        } catch (Exception e) {
            backend.close();
            throw e;
        }
    }

    /**
     * A config of one h2c listener at 127.0.0.1:0 (its {@code http2} map: {@code h2c: true} and
     * {@code http2Settings}) sending every path to the cluster {@code app} of {@code endpoint},
     * with {@code clusterSetting} (one {@code key: value} line).
     */
    static String yaml(String http2Settings, String endpoint, String clusterSetting) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    http2: { h2c: true%s }
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    %s
                """.formatted(http2Settings, endpoint, clusterSetting);
    }

    /** Another client, on its own connection: served whatever the attack did to the attacker's. */
    void anotherClientIsServed() throws IOException {
        try (RawH2Client other = new RawH2Client(gateway.address())) {
            other.headers(1, request("GET", "/other"), true);
            assertThat(other.status(1)).isEqualTo(200);
        }
    }

    @Override
    public void close() {
        gateway.close();
        backend.close();
    }
}
