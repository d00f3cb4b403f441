package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** routes[]' rewrite, host, header rules, redirect, respond and max_body: what they bind to, and each mistake located. */
class RoutingRulesConfigTest {

    /** One route (lines 3 on) after the listener, with a cluster 'app' defined after it. */
    private static String route(String route) {
        return "listeners:\n  - address: 127.0.0.1:8080\nroutes:\n" + route.indent(2)
                + "clusters:\n  - name: app\n    endpoints: [127.0.0.1:9001]\n";
    }

    private static RouteConfig bound(String route) throws ConfigException {
        return ConfigLoader.parse(route(route), "test.yaml").routes().get(0);
    }

    @Test
    void aRouteWithoutRulesHasTheDefaults() throws Exception {
        RouteConfig r = bound("- match: { path_prefix: / }\n  cluster: app\n");
        assertThat(r.rewrite()).isEqualTo(PathRewriteConfig.NONE);
        assertThat(r.host()).isEqualTo(UpstreamHostConfig.CLIENT);
        assertThat(r.requestHeaders().isEmpty()).isTrue();
        assertThat(r.responseHeaders().isEmpty()).isTrue();
        assertThat(r.answer()).isEmpty();
        assertThat(r.maxBody()).isEqualTo(OptionalLong.empty());
    }

    @Test
    void rulesBindToTheirRecords() throws Exception {
        RouteConfig r = bound("""
                - match: { path_prefix: /api/ }
                  cluster: app
                  rewrite: { regex: "^/api/(\\\\w+)$", replace: "/$1/index" }
                  host: internal.example:8443
                  request_headers: { set: { X-Env: "prod ${route}" }, remove: [Cookie] }
                  max_body: 10MiB
                """);
        assertThat(r.rewrite()).isEqualTo(new PathRewriteConfig.Regex("^/api/(\\w+)$", "/$1/index"));
        assertThat(r.host()).isEqualTo(new UpstreamHostConfig.Fixed("internal.example:8443"));
        assertThat(r.requestHeaders().remove()).containsExactly("cookie");
        assertThat(r.requestHeaders().set().get("x-env").parts()).containsExactly(new TemplateConfig.Literal("prod "),
                new TemplateConfig.Variable("route"));
        assertThat(r.maxBody()).isEqualTo(OptionalLong.of(10L * 1024 * 1024));
        assertThat(bound("- match: { path: /a }\n  redirect: { to: \"https://x.example${uri}\" }\n").answer())
                .get().isInstanceOf(LocalAnswerConfig.Redirect.class)
                .extracting(a -> ((LocalAnswerConfig.Redirect) a).status()).isEqualTo(302);
        assertThat(bound("- match: { path: /a }\n  respond: { body: hi }\n").answer())
                .isEqualTo(Optional.of(new LocalAnswerConfig.Respond(200, "hi", Optional.of("text/plain; charset=utf-8"))));
    }

    @Test
    void aRouteHasExactlyOneOfClusterRedirectAndRespond() {
        assertThat(problems(route("- match: { path: /a }\n  cluster: app\n  redirect: { to: /b }\n")))
                .containsExactly("6:5: routes[0]: 'cluster' and 'redirect' together; a route sends requests to a "
                        + "cluster, splits them across clusters ('backends'), redirects them or answers them "
                        + "('respond'): choose one");
        assertThat(problems(route("- match: { path: /a }\n")))
                .containsExactly("4:5: missing required key 'cluster' in routes[0] (or 'backends' to split across "
                        + "clusters, or 'redirect' or 'respond' for a route Sluice answers itself)");
        assertThat(problems(route("- match: { path: /a }\n  respond: { body: x }\n  strip_prefix: true\n")))
                .containsExactly("6:5: routes[0].strip_prefix: only for a route with a cluster; this route answers "
                        + "by itself ('respond')");
    }

    @Test
    void pathRewritesAreCheckedWhereTheyAreWritten() {
        assertThat(problems(route("- match: { path: /a }\n  cluster: app\n  strip_prefix: true\n")))
                .containsExactly("6:5: routes[0].strip_prefix: needs match.path_prefix, the prefix it strips");
        assertThat(problems(route("- match: { path_prefix: /a }\n  cluster: app\n  rewrite: { regex: \"(a\", replace: /b }\n")))
                .singleElement().asString()
                .startsWith("6:23: routes[0].rewrite.regex: '(a' is not a valid regular expression: Unclosed group");
        assertThat(problems(route("- match: { path_prefix: /a }\n  cluster: app\n  rewrite: { regex: \"^/a/(.*)\", replace: \"/b/\\\\2\" }\n")))
                .containsExactly("6:44: routes[0].rewrite.replace: '\\2' refers to group 2, but the regex has 1 group");
        assertThat(problems(route("- match: { path_prefix: /a }\n  cluster: app\n  strip_prefix: true\n  rewrite: { prefix: /b }\n")))
                .containsExactly("7:5: routes[0].rewrite: use either 'strip_prefix' or 'rewrite', not both");
    }

    @Test
    void headerRulesRefuseSluicesOwnAndHopByHopFieldsAndUnknownVariables() {
        assertThat(problems(route("""
                - match: { path_prefix: / }
                  cluster: app
                  request_headers:
                    set: { Via: x, x-request-id: "${request_id}" }
                    remove: [connection]
                  response_headers:
                    add: { x-who: "${clinet}" }
                """))).containsExactly(
                "7:14: routes[0].request_headers.set.Via: 'Via' cannot be changed by a rule: Sluice's own: it appends "
                        + "itself (RFC 9110 §7.6.3)",
                "7:22: routes[0].request_headers.set.x-request-id: 'x-request-id' cannot be changed by a rule: "
                        + "Sluice's own: it keeps or makes the request id",
                "8:16: routes[0].request_headers.remove[0]: 'connection' cannot be changed by a rule: hop-by-hop: it "
                        + "describes one connection and is never forwarded (RFC 9110 §7.6.1)",
                "10:21: routes[0].response_headers.add.x-who: unknown variable '${clinet}' (did you mean "
                        + "'${client}'?); allowed: ${client}, ${request_id}, ${route}, ${host}");
    }

    @Test
    void redirectsAndResponsesAreChecked() {
        assertThat(problems(route("- match: { path: /a }\n  redirect: { to: example.com, status: 200 }\n")))
                .containsExactly(
                        "5:21: routes[0].redirect.to: 'example.com' must be an absolute URL (https://...) or a path "
                                + "starting with '/'",
                        "5:42: routes[0].redirect.status: 200 is out of range; it must be between 300 and 399");
        assertThat(problems(route("- match: { path: /a }\n  redirect: { to: /b, status: 304 }\n")))
                .containsExactly("5:33: routes[0].redirect.status: 304 is not a redirect status; use 301, 302, 303, "
                        + "307 or 308");
        assertThat(problems(route("- match: { path: /a }\n  respond: { status: 204, body: x }\n")))
                .containsExactly("5:29: routes[0].respond.body: a 204 response has no body");
        assertThat(problems(route("- match: { path: /a }\n  cluster: app\n  max_body: 10MB\n")))
                .singleElement().asString().startsWith("6:15: routes[0].max_body: invalid size '10MB'");
    }
}
