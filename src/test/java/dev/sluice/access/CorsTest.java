package dev.sluice.access;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CorsConfig;
import dev.sluice.failure.ReplyFields;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which origins a route's CORS policy takes, and the fields it answers with. */
class CorsTest {
    private static Cors cors(List<String> origins, boolean any, boolean credentials, boolean anyHeader) {
        return new Cors(new CorsConfig(origins, any, List.of("GET", "PUT"), List.of("content-type"), anyHeader,
                List.of(), credentials, Duration.ofMinutes(1)));
    }

    private static HttpRequest preflight(String origin, String headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "/x");
        r.headers().set("origin", origin).set("access-control-request-method", "PUT");
        if (headers != null) {
            r.headers().set("access-control-request-headers", headers);
        }
        return r;
    }

    private static String get(ReplyFields fields, String name) {
        return fields.get(AsciiString.of(name));
    }

    @Test
    void aWildcardTakesSubdomainsOfItsSchemeOnly() {
        Cors c = cors(List.of("https://*.example.org", "http://localhost:3000"), false, false, false);
        assertThat(c.allows("https://a.example.org")).isTrue();
        assertThat(c.allows("https://a.b.example.org")).isTrue();
        assertThat(c.allows("HTTPS://A.Example.ORG")).isTrue();
        assertThat(c.allows("https://example.org")).isFalse();
        assertThat(c.allows("http://a.example.org")).isFalse();
        assertThat(c.allows("https://evil.com/.example.org")).isFalse();
        assertThat(c.allows("https://a.example.org.evil.com")).isFalse();
        assertThat(c.allows("http://localhost:3000")).isTrue();
        assertThat(c.allows("http://localhost:3001")).isFalse();
        assertThat(c.allows("null")).isFalse();
    }

    @Test
    void anyOriginWithoutCredentialsAnswersStarAndDoesNotVary() {
        Cors c = cors(List.of(), true, false, false);
        ReplyFields fields = c.responseFields("https://x.example");
        assertThat(get(fields, "access-control-allow-origin")).isEqualTo("*");
        assertThat(get(fields, "vary")).isNull();
        assertThat(c.responseFields(null).size()).isZero();
    }

    @Test
    void aListedOriginIsNamedAndEveryAnswerVariesByOrigin() {
        Cors c = cors(List.of("https://app.example.com"), false, true, false);
        ReplyFields allowed = c.responseFields("https://app.example.com");
        assertThat(get(allowed, "access-control-allow-origin")).isEqualTo("https://app.example.com");
        assertThat(get(allowed, "access-control-allow-credentials")).isEqualTo("true");
        assertThat(get(allowed, "vary")).isEqualTo("Origin");
        ReplyFields none = c.responseFields(null);
        assertThat(get(none, "access-control-allow-origin")).isNull();
        assertThat(get(none, "vary")).as("a cache must not serve this to a CORS request").isEqualTo("Origin");
    }

    @Test
    void aPreflightIsAnsweredWithTheConfiguredListsOrNotAtAll() {
        Cors c = cors(List.of("https://app.example.com"), false, false, false);
        ReplyFields fields = c.preflight(preflight("https://app.example.com", "x-other"));
        assertThat(get(fields, "access-control-allow-methods")).isEqualTo("GET, PUT");
        assertThat(get(fields, "access-control-allow-headers")).as("the browser compares").isEqualTo("content-type");
        assertThat(get(fields, "access-control-max-age")).isEqualTo("60");
        assertThat(c.preflight(preflight("https://evil.example", null))).isNull();
    }

    @Test
    void anyHeaderNamesBackWhatThePreflightAsksFor() {
        Cors c = cors(List.of("https://app.example.com"), false, true, true);
        ReplyFields fields = c.preflight(preflight("https://app.example.com", "x-a, x-b"));
        assertThat(get(fields, "access-control-allow-headers")).isEqualTo("x-a, x-b");
    }

    @Test
    void onlyAnOptionsWithOriginAndRequestMethodIsAPreflight() {
        Cors c = cors(List.of("https://app.example.com"), false, false, false);
        assertThat(c.isPreflight(preflight("https://app.example.com", null))).isTrue();
        HttpRequest plainOptions = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "/x");
        plainOptions.headers().set("origin", "https://app.example.com");
        assertThat(c.isPreflight(plainOptions)).isFalse();
        assertThat(Cors.NONE.isPreflight(preflight("https://app.example.com", null))).isFalse();
    }
}
