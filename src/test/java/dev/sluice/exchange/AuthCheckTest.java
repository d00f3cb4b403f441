package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ForwardAuthConfig;
import dev.sluice.config.HostPort;
import dev.sluice.config.SluiceConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.upstream.Endpoint;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The forward-auth step's pure parts: what a check asks, what a denial looks like, how it is named. */
class AuthCheckTest {
    private static final ForwardAuthConfig ALL_FIELDS = new ForwardAuthConfig(
            new ForwardAuthConfig.Url(new HostPort("auth.internal", 9000)), "/check?x=1", Duration.ofSeconds(1),
            Optional.empty(), List.of());

    private static HttpRequest clientRequest() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/orders?id=3");
        request.headers().add("Host", "shop.example").add("Authorization", "Bearer t").add("Cookie", "a=1")
                .add("Cookie", "b=2").add("Content-Length", "12").add("Expect", "100-continue")
                .add("Connection", "keep-alive, X-Private").add("X-Private", "p").add("TE", "trailers")
                .add("X-Forwarded-For", "192.0.2.7").add("X-Forwarded-Proto", "https")
                .add("x-request-id", "from-the-client").add("Accept", "application/json");
        return request;
    }

    @Test
    void aCheckCarriesTheClientsEndToEndFieldsAndSluicesForwardedOnes() {
        HttpHeaders h = AuthCheck.checkRequest(clientRequest(), ALL_FIELDS, "id-1", "10.0.0.5", false, false,
                "auth.internal:9000").headers();

        assertThat(h.getAll("cookie")).containsExactly("a=1", "b=2");
        assertThat(h.get("authorization")).isEqualTo("Bearer t");
        assertThat(h.get("accept")).isEqualTo("application/json");
        assertThat(h.contains("content-length")).as("no body goes with a check").isFalse();
        assertThat(h.contains("expect")).isFalse();
        assertThat(h.contains("x-private")).as("named by Connection").isFalse();
        assertThat(h.contains("te")).isFalse();
        assertThat(h.contains("connection")).isFalse();
        assertThat(h.get("host")).isEqualTo("auth.internal:9000");
        assertThat(h.get("x-forwarded-host")).isEqualTo("shop.example");
        assertThat(h.get("x-forwarded-for")).as("an untrusted peer's claim is replaced").isEqualTo("10.0.0.5");
        assertThat(h.get("x-forwarded-proto")).isEqualTo("http");
        assertThat(h.get("x-forwarded-method")).isEqualTo("POST");
        assertThat(h.get("x-forwarded-uri")).isEqualTo("/orders?id=3");
        assertThat(h.getAll("x-request-id")).containsExactly("id-1");
    }

    @Test
    void behindATrustedProxyItsForwardedFieldsAreBelievedAndAppendedTo() {
        HttpRequest check = AuthCheck.checkRequest(clientRequest(), ALL_FIELDS, "id-1", "10.0.0.5", true, false,
                "auth.internal:9000");

        assertThat(check.method()).isEqualTo(HttpMethod.GET);
        assertThat(check.uri()).isEqualTo("/check?x=1");
        assertThat(check.headers().get("x-forwarded-for")).isEqualTo("192.0.2.7, 10.0.0.5");
        assertThat(check.headers().get("x-forwarded-proto")).isEqualTo("https");
    }

    @Test
    void requestHeadersNarrowWhatIsCopied() {
        ForwardAuthConfig some = new ForwardAuthConfig(new ForwardAuthConfig.Cluster("auth"), "/c",
                Duration.ofSeconds(1), Optional.of(List.of("cookie")), List.of());
        HttpHeaders h = AuthCheck.checkRequest(clientRequest(), some, "id-1", "10.0.0.5", false, true, "10.1.1.1:80")
                .headers();

        assertThat(h.getAll("cookie")).containsExactly("a=1", "b=2");
        assertThat(h.contains("authorization")).isFalse();
        assertThat(h.contains("accept")).isFalse();
        assertThat(h.get("x-forwarded-proto")).as("an HTTPS listener's client").isEqualTo("https");
    }

    @Test
    void theChecksHostIsTheUrlsAuthorityOrTheEndpoints() {
        Endpoint endpoint = new Endpoint("auth", "10.1.1.1:8080", InetSocketAddress.createUnresolved("10.1.1.1", 8080),
                Map.of(), 1, false, 0);
        assertThat(AuthCheck.authority(new ForwardAuthConfig.Url(new HostPort("auth", 80)), endpoint)).isEqualTo("auth");
        assertThat(AuthCheck.authority(new ForwardAuthConfig.Url(new HostPort("::1", 9000)), endpoint))
                .isEqualTo("[::1]:9000");
        assertThat(AuthCheck.authority(new ForwardAuthConfig.Cluster("auth"), endpoint)).isEqualTo("10.1.1.1:8080");
    }

    @Test
    void denialsAreNamedByStatus() {
        assertThat(AuthCheck.kindOf(401)).isEqualTo(FailureKind.UNAUTHENTICATED);
        assertThat(AuthCheck.kindOf(403)).isEqualTo(FailureKind.ACCESS_DENIED);
        assertThat(AuthCheck.kindOf(302)).isEqualTo(FailureKind.AUTH_DENIED);
        assertThat(AuthCheck.kindOf(429)).isEqualTo(FailureKind.AUTH_DENIED);
    }

    @Test
    void aDenialKeepsTheServicesFieldsButThoseOfItsConnectionAndFraming() {
        HttpResponse answer = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.UNAUTHORIZED);
        answer.headers().add("WWW-Authenticate", "Bearer").add("Transfer-Encoding", "chunked")
                .add("Connection", "close").add("Keep-Alive", "timeout=5").add("Set-Cookie", "a=1");
        HttpResponse head = AuthCheck.denialHead(answer, 17, FailureKind.UNAUTHENTICATED);

        assertThat(head.status().code()).isEqualTo(401);
        assertThat(head.headers().get("www-authenticate")).isEqualTo("Bearer");
        assertThat(head.headers().get("set-cookie")).isEqualTo("a=1");
        assertThat(head.headers().get("content-length")).isEqualTo("17");
        assertThat(head.headers().get("x-sluice-error")).isEqualTo("unauthenticated");
        assertThat(head.headers().get("via")).isEqualTo("1.1 sluice");
        assertThat(head.headers().contains("transfer-encoding")).isFalse();
        assertThat(head.headers().contains("connection")).isFalse();
        assertThat(head.headers().contains("keep-alive")).isFalse();

        HttpResponse notModified = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED);
        assertThat(AuthCheck.denialHead(notModified, 0, FailureKind.AUTH_DENIED).headers().contains("content-length"))
                .as("a 304 has no content").isFalse();
    }

    @Test
    void aUrlServiceIsAClusterOfTheSnapshotWhoseEndpointOutlivesAReload() throws Exception {
        String yaml = """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - { name: a, match: { path_prefix: /a/ }, cluster: app, forward_auth: { url: "http://127.0.0.1:4180/auth" } }
                  - { name: b, match: { path_prefix: /b/ }, cluster: app, forward_auth: { url: "http://127.0.0.1:4180/other" } }
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """;
        SluiceConfig config = ConfigLoader.parse(yaml, "t.yaml");
        Snapshot first = Snapshot.build(config, null, System::nanoTime);
        Snapshot second = Snapshot.build(ConfigLoader.parse(yaml, "t.yaml"), first, System::nanoTime);

        assertThat(first.clusters()).containsOnlyKeys("app", "forward_auth:127.0.0.1:4180");
        assertThat(second.clusters().get("forward_auth:127.0.0.1:4180").endpoints().get(0))
                .as("its pools and passive health survive the reload")
                .isSameAs(first.clusters().get("forward_auth:127.0.0.1:4180").endpoints().get(0));
    }
}
