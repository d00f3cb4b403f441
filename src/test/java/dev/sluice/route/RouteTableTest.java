package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.MatchConfig;
import dev.sluice.config.RouteConfig;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouteTableTest {
    private static RouteConfig route(String name, Optional<String> host, Optional<String> prefix, Optional<String> path,
                                     List<String> methods, Map<String, String> headers) {
        return new RouteConfig(name, new MatchConfig(host, prefix, path, methods, headers), "c", Duration.ofSeconds(1));
    }

    private static HttpRequest request(HttpMethod method, String uri, String host, String... headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        if (host != null) {
            r.headers().set("host", host);
        }
        for (int i = 0; i < headers.length; i += 2) {
            r.headers().add(headers[i], headers[i + 1]);
        }
        return r;
    }

    private final RouteTable table = new RouteTable(List.of(
            route("exact-health", Optional.empty(), Optional.empty(), Optional.of("/healthz"), List.of(), Map.of()),
            route("admin-posts", Optional.of("admin.example.com"), Optional.of("/"), Optional.empty(),
                    List.of("POST"), Map.of()),
            route("canary", Optional.empty(), Optional.of("/api/"), Optional.empty(), List.of(),
                    Map.of("x-canary", "1")),
            route("wildcard", Optional.of("*.example.com"), Optional.of("/"), Optional.empty(), List.of(), Map.of()),
            route("api", Optional.empty(), Optional.of("/api/"), Optional.empty(), List.of(), Map.of())));

    @Test
    void firstMatchingRouteWinsInFileOrder() {
        assertThat(table.match(request(HttpMethod.GET, "/api/x", "a.example.com")).name()).isEqualTo("wildcard");
        assertThat(table.match(request(HttpMethod.GET, "/api/x", "other.org")).name()).isEqualTo("api");
    }

    @Test
    void exactPathIgnoresTheQueryButNotTrailingSegments() {
        assertThat(table.match(request(HttpMethod.GET, "/healthz?full=1", "h")).name()).isEqualTo("exact-health");
        assertThat(table.match(request(HttpMethod.GET, "/healthz/more", "h"))).isNull();
    }

    @Test
    void hostMatchIgnoresPortAndCase() {
        assertThat(table.match(request(HttpMethod.POST, "/x", "ADMIN.Example.com:8080")).name()).isEqualTo("admin-posts");
    }

    @Test
    void methodsRestrictARoute() {
        assertThat(table.match(request(HttpMethod.GET, "/x", "admin.example.com")).name()).isEqualTo("wildcard");
    }

    @Test
    void wildcardHostNeedsASubdomain() {
        assertThat(table.match(request(HttpMethod.GET, "/x", "example.com"))).isNull();
        assertThat(table.match(request(HttpMethod.GET, "/x", "a.b.example.com")).name()).isEqualTo("wildcard");
    }

    @Test
    void headerConditionsMustAllHold() {
        assertThat(table.match(request(HttpMethod.GET, "/api/x", "h", "x-canary", "1")).name()).isEqualTo("canary");
        assertThat(table.match(request(HttpMethod.GET, "/api/x", "h", "x-canary", "2")).name()).isEqualTo("api");
    }

    @Test
    void absoluteFormTargetsAreMatchedByTheirPath() {
        assertThat(RouteTable.pathOf("http://h:80/api/x?q")).isEqualTo("/api/x");
        assertThat(RouteTable.pathOf("http://h")).isEqualTo("/");
        assertThat(table.match(request(HttpMethod.GET, "http://other.org/api/v", "other.org")).name()).isEqualTo("api");
    }

    @Test
    void ipv6HostLiteralKeepsItsBrackets() {
        assertThat(RouteTable.hostOf("[::1]:8080")).isEqualTo("[::1]");
        assertThat(RouteTable.hostOf(null)).isEmpty();
    }
}
