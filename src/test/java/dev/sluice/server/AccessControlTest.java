package dev.sluice.server;

import static dev.sluice.access.PasswordHashing.basic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import dev.sluice.access.PasswordHashing;
import dev.sluice.testing.CheckCommand;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route's access control on real sockets: address lists (directly, through a trusted proxy's
 * X-Forwarded-For, over IPv6), basic auth with bcrypt and argon2id hashes, and CORS; each refusal's
 * status, body, {@code x-sluice-error} and access-log kind.
 */
class AccessControlTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final Pattern REQUEST_ID = Pattern.compile("request-id: (\\S+)");

    @TempDir
    static Path dir;
    private static Path users;
    private static TestBackend backend;
    private static TestGateway gateway;

    /** Every access rule in one file: also what {@code bin/sluice check} must accept. */
    static String yaml(String backend, Path users) {
        return """
                listeners:
                  - name: behind-proxy
                    address: 127.0.0.1:0
                    trusted_proxies: [127.0.0.1]
                  - name: direct
                    address: 127.0.0.1:0
                  - name: v6
                    address: "[::1]:0"
                routes:
                  - name: internal
                    match: { path_prefix: /internal/ }
                    cluster: app
                    allow_ips: [10.0.0.0/8, "2001:db8::/32"]
                    deny_ips: [10.0.0.13]
                  - name: loopback-v6
                    match: { path_prefix: /v6/ }
                    cluster: app
                    allow_ips: ["::1/128"]
                  - name: staff
                    match: { path_prefix: /staff/ }
                    cluster: app
                    basic_auth: { users_file: %2$s, realm: Staff }
                  - name: passing
                    match: { path_prefix: /passing/ }
                    cluster: app
                    basic_auth: { users_file: %2$s, pass_authorization: true }
                  - name: api
                    match: { path_prefix: /api/, methods: [GET, PUT] }
                    cluster: app
                    cors:
                      origins: [https://app.example.com, "https://*.example.org"]
                      methods: [GET, PUT]
                      headers: [content-type]
                      expose: [x-request-id]
                      credentials: true
                      max_age: 1m
                  - name: public
                    match: { path_prefix: /public/ }
                    cluster: app
                    cors: { origins: "*" }
                  - name: app-with-login
                    match: { path_prefix: /both/ }
                    cluster: app
                    cors: { origins: [https://app.example.com], credentials: true }
                    basic_auth: { users_file: %2$s }
                clusters:
                  - name: app
                    endpoints: [%1$s]
                    concurrency: { limit: off }
                """.formatted(backend, users);
    }

    @BeforeAll
    static void start() throws Exception {
        users = dir.resolve("users");
        Files.writeString(users, "# made by the test with BouncyCastle\nalice:" + PasswordHashing.bcrypt("wonderland")
                + "\nbob:" + PasswordHashing.argon2id("builder") + "\n");
        backend = TestBackend.start(BackendHandlers.echo());
        gateway = TestGateway.fromYaml(yaml(backend.authority(), users));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    @BeforeEach
    void forget() {
        backend.clearRequests();
    }

    private static InetSocketAddress listener(int index) {
        return gateway.gateway().boundAddresses().get(index);
    }

    private static RawResponse get(InetSocketAddress listener, String target, String... fields) {
        try (RawHttpClient c = RawHttpClient.connect(listener)) {
            return get(c, target, fields);
        }
    }

    private static RawResponse get(RawHttpClient c, String target, String... fields) {
        return send(c, "GET", target, fields);
    }

    private static RawResponse send(RawHttpClient c, String method, String target, String... fields) {
        StringBuilder request = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: shop.example\r\n");
        for (String field : fields) {
            request.append(field).append("\r\n");
        }
        return c.send(request.append("\r\n").toString()).readResponse(T);
    }

    /** The access-log line of a request Sluice refused, found by the request id its reply names. */
    private static String logLineOf(RawResponse reply) {
        Matcher id = REQUEST_ID.matcher(reply.bodyString());
        assertThat(id.find()).as("a request id in " + reply.bodyString()).isTrue();
        String needle = "\"request_id\":\"" + id.group(1) + "\"";
        return Await.value(T, () -> gateway.accessLogLines().stream().filter(l -> l.contains(needle)).findFirst()
                .orElse(null), line -> line != null, "the access-log line of " + needle);
    }

    private static String logLineWith(String needle) {
        return Await.value(T, () -> gateway.accessLogLines().stream().filter(l -> l.contains(needle)).findFirst()
                .orElse(null), line -> line != null, "an access-log line with " + needle);
    }

    private static void assertRefused(RawResponse r, int status, String kind) {
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.header("x-sluice-error")).isEqualTo(kind);
        assertThat(r.bodyString()).startsWith(kind + ": ");
        String line = logLineOf(r);
        assertThat(line).contains("\"status\":" + status).contains("\"failure\":\"" + kind + "\"");
    }

    @Test
    void theConfigUsingEveryAccessRuleIsAcceptedByCheck() throws Exception {
        CheckCommand.passes(dir, yaml("127.0.0.1:9001", users)).says("3 listeners, 7 routes, 1 clusters");
    }

    @Test
    void aClientOutsideTheAllowedBlocksIsRefused403AndNothingIsForwarded() {
        RawResponse r = get(listener(1), "/internal/report");
        assertRefused(r, 403, "access_denied");
        assertThat(logLineOf(r)).contains("\"route\":\"internal\"").contains("\"client\":\"127.0.0.1\"");
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void behindATrustedProxyTheAddressItsForwardedForNamesIsChecked() {
        InetSocketAddress proxied = listener(0);
        assertThat(get(proxied, "/internal/a", "X-Forwarded-For: 10.1.2.3").status()).isEqualTo(200);
        assertThat(get(proxied, "/internal/b", "X-Forwarded-For: 2001:db8::5").status()).isEqualTo(200);
        RawResponse denied = get(proxied, "/internal/c", "X-Forwarded-For: 10.0.0.13");
        assertRefused(denied, 403, "access_denied");
        assertThat(logLineOf(denied)).as("deny wins over allow").contains("\"client\":\"10.0.0.13\"");
        assertRefused(get(proxied, "/internal/d", "X-Forwarded-For: 2001:db9::5"), 403, "access_denied");
        // The client wrote the left address itself; the proxy saw 192.0.2.1, which is not allowed.
        assertRefused(get(proxied, "/internal/e", "X-Forwarded-For: 10.1.2.3, 192.0.2.1"), 403, "access_denied");
        assertThat(backend.awaitRequests(2, T)).extracting(RecordedRequest::path)
                .containsExactly("/internal/a", "/internal/b");
    }

    @Test
    void fromAPeerThatIsNotATrustedProxyForwardedForIsIgnored() {
        assertRefused(get(listener(1), "/internal/a", "X-Forwarded-For: 10.1.2.3"), 403, "access_denied");
    }

    @Test
    void anIpv6BlockAdmitsAnIpv6PeerAndNoOther() {
        assertThat(get(listener(2), "/v6/x").status()).isEqualTo(200);
        assertRefused(get(listener(1), "/v6/x"), 403, "access_denied");
    }

    @Test
    void withoutCredentialsTheClientIsChallenged401() {
        RawResponse r = get(listener(1), "/staff/");
        assertRefused(r, 401, "unauthenticated");
        assertThat(logLineOf(r)).doesNotContain("\"user\"");
        assertThat(r.header("www-authenticate")).isEqualTo("Basic realm=\"Staff\", charset=\"UTF-8\"");
        assertThat(r.connectionClose()).isFalse();
        assertRefused(get(listener(1), "/staff/", "Authorization: Bearer abc"), 401, "unauthenticated");
        assertRefused(get(listener(1), "/staff/", "Authorization: Basic !!notbase64"), 401, "unauthenticated");
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void aWrongPasswordOrAnUnknownUserIs401() {
        RawResponse wrong = get(listener(1), "/staff/", "Authorization: " + basic("alice", "looking-glass"));
        assertRefused(wrong, 401, "unauthenticated");
        assertThat(wrong.header("www-authenticate")).startsWith("Basic realm=\"Staff\"");
        assertRefused(get(listener(1), "/staff/", "Authorization: " + basic("bob", "wonderland")), 401, "unauthenticated");
        assertRefused(get(listener(1), "/staff/", "Authorization: " + basic("mallory", "wonderland")), 401,
                "unauthenticated");
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void bcryptAndArgon2idUsersGetInAndTheBackendNeverSeesThePassword() {
        try (RawHttpClient c = RawHttpClient.connect(listener(1))) {
            // The second request on the connection is answered from the remembered check.
            for (int i = 0; i < 2; i++) {
                assertThat(get(c, "/staff/alice", "Authorization: " + basic("alice", "wonderland")).status()).isEqualTo(200);
            }
            assertThat(get(c, "/staff/bob", "Authorization: " + basic("bob", "builder")).status()).isEqualTo(200);
        }
        var seen = backend.awaitRequests(3, T);
        assertThat(seen).extracting(RecordedRequest::path).containsExactly("/staff/alice", "/staff/alice", "/staff/bob");
        assertThat(seen).allSatisfy(request -> assertThat(request.header("authorization")).isNull());
        assertThat(logLineWith("\"path\":\"/staff/bob\"")).as("who got in, as nginx's $remote_user")
                .contains("\"user\":\"bob\"").contains("\"status\":200").contains("\"failure\":null");
        assertThat(logLineWith("\"path\":\"/staff/alice\"")).contains("\"user\":\"alice\"");
    }

    @Test
    void aReloadReadsTheUsersFileAgainAndForgetsCredentialsItNoLongerHolds() throws Exception {
        Path file = dir.resolve("reloaded-users");
        Files.writeString(file, "carol:" + PasswordHashing.bcrypt("first") + "\n");
        String config = """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: {}
                    cluster: app
                    basic_auth: { users_file: %s }
                clusters:
                  - name: app
                    endpoints: [%s]
                """.formatted(file, backend.authority());
        try (TestGateway gw = TestGateway.fromYaml(config); RawHttpClient c = RawHttpClient.connect(gw.address())) {
            assertThat(get(c, "/a", "Authorization: " + basic("carol", "first")).status()).isEqualTo(200);
            Files.writeString(file, "carol:" + PasswordHashing.bcrypt("second") + "\n");
            gw.gateway().apply(dev.sluice.config.ConfigLoader.parse(config, "<reload>"));
            assertThat(get(c, "/b", "Authorization: " + basic("carol", "first")).status())
                    .as("remembered before the reload, wrong after it").isEqualTo(401);
            assertThat(get(c, "/c", "Authorization: " + basic("carol", "second")).status()).isEqualTo(200);
        }
        assertThat(backend.awaitRequests(2, T)).extracting(RecordedRequest::path).containsExactly("/a", "/c");
    }

    @Test
    void passAuthorizationForwardsTheClientsCredentials() {
        String credentials = basic("bob", "builder");
        assertThat(get(listener(1), "/passing/x", "Authorization: " + credentials).status()).isEqualTo(200);
        assertThat(backend.awaitRequests(1, T).get(0).header("authorization")).isEqualTo(credentials);
    }

    @Test
    void aPreflightFromAnAllowedOriginIsAnsweredBySluice() {
        RawResponse r;
        try (RawHttpClient c = RawHttpClient.connect(listener(1))) {
            r = send(c, "OPTIONS", "/api/items", "Origin: https://app.example.com",
                    "Access-Control-Request-Method: PUT", "Access-Control-Request-Headers: content-type");
        }
        assertThat(r.status()).as("the route takes GET and PUT; its preflight is Sluice's").isEqualTo(204);
        assertThat(r.header("access-control-allow-origin")).isEqualTo("https://app.example.com");
        assertThat(r.header("access-control-allow-credentials")).isEqualTo("true");
        assertThat(r.header("access-control-allow-methods")).isEqualTo("GET, PUT");
        assertThat(r.header("access-control-allow-headers")).isEqualTo("content-type");
        assertThat(r.header("access-control-max-age")).isEqualTo("60");
        assertThat(r.header("vary")).startsWith("Origin");
        assertThat(r.header("x-sluice-error")).isNull();
        RawResponse sub = get(listener(1), "/api/items", "Origin: https://shop.example.org");
        assertThat(sub.header("access-control-allow-origin")).as("a subdomain of *.example.org")
                .isEqualTo("https://shop.example.org");
        assertThat(backend.awaitRequests(1, T)).extracting(RecordedRequest::method).containsExactly("GET");
    }

    @Test
    void aPreflightFromAnotherOriginIsRefused403() {
        RawResponse r;
        try (RawHttpClient c = RawHttpClient.connect(listener(1))) {
            r = send(c, "OPTIONS", "/api/items", "Origin: https://evil.example", "Access-Control-Request-Method: PUT");
        }
        assertRefused(r, 403, "access_denied");
        assertThat(r.header("access-control-allow-origin")).isNull();
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void anActualRequestGetsTheCorsFieldsOnlyForAnAllowedOrigin() {
        RawResponse allowed = get(listener(1), "/api/items", "Origin: https://app.example.com");
        assertThat(allowed.status()).isEqualTo(200);
        assertThat(allowed.header("access-control-allow-origin")).isEqualTo("https://app.example.com");
        assertThat(allowed.header("access-control-allow-credentials")).isEqualTo("true");
        assertThat(allowed.header("access-control-expose-headers")).isEqualTo("x-request-id");
        assertThat(allowed.headerValues("vary")).contains("Origin");

        RawResponse other = get(listener(1), "/api/items", "Origin: https://evil.example");
        assertThat(other.status()).as("CORS guards what a script reads, not the request").isEqualTo(200);
        assertThat(other.header("access-control-allow-origin")).isNull();
        assertThat(other.headerValues("vary")).contains("Origin");

        RawResponse any = get(listener(1), "/public/x", "Origin: https://anyone.example");
        assertThat(any.header("access-control-allow-origin")).isEqualTo("*");
        assertThat(any.header("access-control-allow-credentials")).isNull();
        assertThat(backend.awaitRequests(3, T)).hasSize(3);
    }

    @Test
    void aPreflightNeedsNoCredentialsAndAnUnauthenticatedReplyCarriesTheCorsFields() {
        RawResponse preflight;
        RawResponse refused;
        RawResponse in;
        try (RawHttpClient c = RawHttpClient.connect(listener(1))) {
            preflight = send(c, "OPTIONS", "/both/me", "Origin: https://app.example.com",
                    "Access-Control-Request-Method: GET");
            refused = get(c, "/both/me", "Origin: https://app.example.com");
            in = get(c, "/both/me", "Origin: https://app.example.com", "Authorization: " + basic("alice", "wonderland"));
        }
        assertThat(preflight.status()).as("browsers send no credentials on a preflight").isEqualTo(204);
        assertRefused(refused, 401, "unauthenticated");
        assertThat(refused.header("access-control-allow-origin")).as("so the page's script can read the 401")
                .isEqualTo("https://app.example.com");
        assertThat(in.status()).isEqualTo(200);
        assertThat(in.header("access-control-allow-origin")).isEqualTo("https://app.example.com");
        assertThat(backend.awaitRequests(1, T)).extracting(RecordedRequest::path).containsExactly("/both/me");
    }
}
