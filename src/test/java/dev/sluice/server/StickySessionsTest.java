package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sticky sessions on real sockets: by the cookie Sluice sets, by a header's hash, by the client's address. */
class StickySessionsTest {
    private static final Duration T = Duration.ofSeconds(10);

    private final TestBackend[] backends = new TestBackend[3];

    @BeforeEach
    void startBackends() {
        for (int i = 0; i < backends.length; i++) {
            backends[i] = TestBackend.start(BackendHandlers.fixed(200, "backend-" + i));
        }
    }

    @AfterEach
    void stopBackends() {
        for (TestBackend b : backends) {
            if (b != null) {
                b.close();
            }
        }
    }

    private String yaml(String sticky) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    trusted_proxies: [127.0.0.1/32]
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    endpoints: [%s, %s, %s]
                    sticky: %s
                """.formatted(backends[0].authority(), backends[1].authority(), backends[2].authority(), sticky);
    }

    private static RawResponse get(RawHttpClient client, String... fields) {
        StringBuilder head = new StringBuilder("GET /cart HTTP/1.1\r\nHost: shop.test\r\n");
        for (String field : fields) {
            head.append(field).append("\r\n");
        }
        return client.send(head.append("\r\n").toString()).readResponse(T);
    }

    private static RawResponse getOnNewConnection(TestGateway gw, String... fields) {
        try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
            return get(client, fields);
        }
    }

    /** {@code name=value} of a Set-Cookie field. */
    private static String pair(String setCookie) {
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    @Test
    void theCookieKeepsAClientOnOneEndpointAcrossRequestsAndConnections() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml(yaml("{ cookie: {} }"))) {
            RawResponse first = getOnNewConnection(gw);
            assertThat(first.status()).isEqualTo(200);
            String setCookie = first.header("set-cookie");
            assertThat(setCookie).startsWith("sluice_web=");
            String cookie = pair(setCookie);
            String endpoint = first.bodyString();
            for (int c = 0; c < 10; c++) {
                try (RawHttpClient client = RawHttpClient.connect(gw.address())) {
                    for (int r = 0; r < 5; r++) {
                        RawResponse response = get(client, "Cookie: theme=dark; " + cookie + "; lang=en");
                        assertThat(response.bodyString()).isEqualTo(endpoint);
                        assertThat(response.headerValues("set-cookie")).as("the client has it already").isEmpty();
                    }
                }
            }
            // Without the cookie, clients spread over the endpoints as least-request puts them.
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 30; i++) {
                seen.add(getOnNewConnection(gw).bodyString());
            }
            assertThat(seen).hasSizeGreaterThan(1);
        }
    }

    @Test
    void theCookiesAttributesAreTheConfiguredOnesAndItsValueHidesTheAddress() throws Exception {
        try (TestGateway defaults = TestGateway.fromYaml(yaml("{ cookie: {} }"))) {
            String setCookie = getOnNewConnection(defaults).header("set-cookie");
            assertThat(setCookie).matches("sluice_web=[A-Za-z0-9_-]{16}; Path=/; HTTPOnly; SameSite=Lax");
            for (TestBackend b : backends) {
                assertThat(setCookie).doesNotContain(String.valueOf(b.port())).doesNotContain("127.0.0.1");
            }
        }
        String configured = "{ cookie: { name: __Host-route, ttl: 2h, path: /, http_only: false, secure: true, "
                + "same_site: strict } }";
        try (TestGateway gw = TestGateway.fromYaml(yaml(configured))) {
            String setCookie = getOnNewConnection(gw).header("set-cookie");
            assertThat(setCookie).matches("__Host-route=[A-Za-z0-9_-]{16}; Max-Age=7200; Expires=[^;]+ GMT; Path=/; "
                    + "Secure; SameSite=Strict");
        }
    }

    @Test
    void aClientWhoseEndpointIsDownMovesToAnotherAndGetsANewCookie() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml(yaml("{ cookie: {} }"))) {
            RawResponse first = getOnNewConnection(gw);
            String cookie = pair(first.header("set-cookie"));
            int own = Integer.parseInt(first.bodyString().substring("backend-".length()));
            backends[own].close();
            // The refused connect is retried elsewhere (nothing reached an application), and the
            // answer tells the client where it is now.
            RawResponse moved = getOnNewConnection(gw, "Cookie: " + cookie);
            assertThat(moved.status()).isEqualTo(200);
            assertThat(moved.bodyString()).isNotEqualTo("backend-" + own);
            String newCookie = pair(moved.header("set-cookie"));
            assertThat(newCookie).startsWith("sluice_web=").isNotEqualTo(cookie);
            for (int i = 0; i < 10; i++) {
                RawResponse next = getOnNewConnection(gw, "Cookie: " + newCookie);
                assertThat(next.bodyString()).isEqualTo(moved.bodyString());
                assertThat(next.headerValues("set-cookie")).isEmpty();
            }
            // The access log, written in batches, says the request took two attempts.
            Await.until(T, () -> gw.accessLogLines().stream().anyMatch(line -> line.contains("\"attempts\":2")),
                    "the moved request's line, with its retry");
        }
    }

    @Test
    void aHeadersHashKeepsEachUserOnOneEndpoint() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml(yaml("{ hash: header:X-User }"))) {
            Map<String, String> endpointOf = new HashMap<>();
            for (int round = 0; round < 3; round++) {
                for (int u = 0; u < 20; u++) {
                    String body = getOnNewConnection(gw, "X-User: user-" + u).bodyString();
                    assertThat(endpointOf.putIfAbsent("user-" + u, body)).isIn(null, body);
                }
            }
            assertThat(new HashSet<>(endpointOf.values())).as("users spread over the endpoints").hasSize(3);
            assertThat(getOnNewConnection(gw, "X-User: user-1").headerValues("set-cookie")).isEmpty();
        }
    }

    @Test
    void theClientsAddressKeepsEachClientOnOneEndpoint() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml(yaml("{ hash: client }"))) {
            Map<String, String> endpointOf = new HashMap<>();
            for (int round = 0; round < 3; round++) {
                for (int c = 2; c < 14; c++) {
                    InetAddress from = InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) c});
                    try (RawHttpClient client = RawHttpClient.connect(gw.address(), from)) {
                        String body = get(client).bodyString();
                        assertThat(endpointOf.putIfAbsent(from.getHostAddress(), body)).isIn(null, body);
                    }
                }
            }
            assertThat(new HashSet<>(endpointOf.values())).hasSizeGreaterThan(1);
            // Behind a trusted proxy, the client is the one X-Forwarded-For names.
            List<String> viaProxy = List.of(getOnNewConnection(gw, "X-Forwarded-For: 127.0.0.5").bodyString(),
                    getOnNewConnection(gw, "X-Forwarded-For: 127.0.0.5").bodyString());
            assertThat(viaProxy).containsOnly(endpointOf.get("127.0.0.5"));
        }
    }
}
