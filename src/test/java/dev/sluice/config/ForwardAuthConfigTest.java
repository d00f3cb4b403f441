package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** routes[].forward_auth: what it binds to, its defaults, and each mistake located. */
class ForwardAuthConfigTest {

    /** One route (lines 3 on) after the listener, with clusters 'app' and 'auth' defined after it. */
    private static String route(String route) {
        return "listeners:\n  - address: 127.0.0.1:8080\nroutes:\n" + route.indent(2)
                + "clusters:\n  - name: app\n    endpoints: [127.0.0.1:9001]\n"
                + "  - name: auth\n    endpoints: [127.0.0.1:9002]\n";
    }

    private static Optional<ForwardAuthConfig> bound(String auth) throws ConfigException {
        return ConfigLoader.parse(route("- match: { path_prefix: / }\n  cluster: app\n  forward_auth: " + auth + "\n"),
                "test.yaml").routes().get(0).forwardAuth();
    }

    private static List<String> problemsOf(String auth) {
        return problems(route("- match: { path_prefix: / }\n  cluster: app\n  forward_auth: " + auth + "\n"));
    }

    @Test
    void aRouteWithoutForwardAuthAsksNobody() throws Exception {
        assertThat(ConfigLoader.parse(route("- match: {}\n  cluster: app\n"), "t.yaml").routes().get(0).forwardAuth())
                .isEmpty();
    }

    @Test
    void aClusterAndPathBindWithTheDefaults() throws Exception {
        assertThat(bound("{ cluster: auth, path: /check }")).contains(new ForwardAuthConfig(
                new ForwardAuthConfig.Cluster("auth"), "/check", Duration.ofSeconds(1), Optional.empty(), List.of()));
    }

    @Test
    void aUrlGivesTheAddressAndTargetWithPort80AndSlashWhenLeftOut() throws Exception {
        ForwardAuthConfig auth = bound("{ url: \"http://auth.internal:9000/oauth2/auth?rd=1\", timeout: 250ms, "
                + "request_headers: [Authorization, Cookie], response_headers: [X-Auth-Request-User] }").orElseThrow();
        assertThat(auth.service()).isEqualTo(new ForwardAuthConfig.Url(new HostPort("auth.internal", 9000)));
        assertThat(auth.service().clusterName()).isEqualTo("forward_auth:auth.internal:9000");
        assertThat(auth.target()).isEqualTo("/oauth2/auth?rd=1");
        assertThat(auth.timeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(auth.requestHeaders()).contains(List.of("authorization", "cookie"));
        assertThat(auth.responseHeaders()).containsExactly("x-auth-request-user");

        ForwardAuthConfig bare = bound("{ url: \"http://auth\" }").orElseThrow();
        assertThat(bare.service()).isEqualTo(new ForwardAuthConfig.Url(new HostPort("auth", 80)));
        assertThat(bare.target()).isEqualTo("/");
    }

    @Test
    void exactlyOneServiceIsGiven() {
        assertThat(problemsOf("{ path: /check }")).containsExactly("6:19: routes[0].forward_auth: give either 'url' "
                + "(http://auth.internal:9000/check) or 'cluster' with 'path', the auth service to ask");
        assertThat(problemsOf("{ url: \"http://a/\", cluster: auth }")).containsExactly("6:39: routes[0].forward_auth: "
                + "give either 'url' (http://auth.internal:9000/check) or 'cluster' with 'path', the auth service to ask");
        assertThat(problemsOf("{ cluster: auth }"))
                .containsExactly("6:19: missing required key 'path' in routes[0].forward_auth");
        assertThat(problemsOf("{ url: \"http://a/x\", path: /y }")).containsExactly(
                "6:40: routes[0].forward_auth.path: the path goes in the 'url'; 'path' is for a 'cluster'");
    }

    @Test
    void theServiceIsCheckedWhereItIsWritten() {
        assertThat(problemsOf("{ cluster: authh, path: /check }")).containsExactly(
                "6:30: routes[0].forward_auth.cluster: undefined cluster 'authh' (did you mean 'auth'?)");
        assertThat(problemsOf("{ url: \"https://auth/check\" }")).containsExactly(
                "6:26: routes[0].forward_auth.url: 'https://auth/check': https to the auth service is not supported "
                        + "yet; use http:// (on a network you trust) or a cluster");
        assertThat(problemsOf("{ url: \"auth:9000/check\" }")).containsExactly(
                "6:26: routes[0].forward_auth.url: 'auth:9000/check' must be an http:// URL with a host, like "
                        + "http://auth.internal:9000/check");
        assertThat(problemsOf("{ url: \"http://auth:99999/\" }")).singleElement().asString()
                .startsWith("6:26: routes[0].forward_auth.url: 'http://auth:99999/'");
        assertThat(problemsOf("{ cluster: auth, path: check }")).containsExactly(
                "6:42: routes[0].forward_auth.path: 'check' must be a path starting with '/', without spaces, control "
                        + "characters or '#'");
        assertThat(problemsOf("{ cluster: auth, path: /c, timeout: 1 }")).singleElement().asString()
                .startsWith("6:55: routes[0].forward_auth.timeout: ");
    }

    @Test
    void headerListsRefuseFieldsSluiceWritesAndRepeats() {
        assertThat(problemsOf("{ cluster: auth, path: /c, request_headers: [Cookie, content-length, cookie], "
                + "response_headers: [X-Forwarded-For, \"bad name\"] }")).containsExactly(
                "6:72: routes[0].forward_auth.request_headers[1]: 'content-length' cannot be copied to the check: it "
                        + "frames the body; Sluice frames it",
                "6:88: routes[0].forward_auth.request_headers[2]: 'cookie' is listed twice (first at 6:64; header "
                        + "names ignore case)",
                "6:116: routes[0].forward_auth.response_headers[0]: 'X-Forwarded-For' cannot be copied from the answer: "
                        + "Sluice's own: set from the client's address and trusted_proxies",
                "6:133: routes[0].forward_auth.response_headers[1]: 'bad name' is not a valid header name");
    }

    @Test
    void aRouteThatAnswersItselfHasNoForwardAuth() {
        assertThat(problems(route("- match: { path: /a }\n  respond: { body: x }\n  forward_auth: { cluster: auth, "
                + "path: /c }\n"))).containsExactly("6:5: routes[0].forward_auth: only for a route with a cluster; "
                + "this route answers by itself ('respond')");
    }
}
