package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.failure.FailureKind;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestChecksTest {
    private static final RequestChecks.Verdict BAD = new RequestChecks.Verdict.Refused(FailureKind.BAD_REQUEST);

    private static RequestChecks.Verdict check(HttpVersion version, HttpMethod method, String uri, int hosts) {
        HttpRequest head = new DefaultHttpRequest(version, method, uri);
        return RequestChecks.check(head, hosts + 1, hosts, 100);
    }

    @Test
    void anOrdinaryRequestIsAccepted() {
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a?b=c", 1)).isEqualTo(RequestChecks.ACCEPTED);
    }

    @Test
    void http11WithoutHostOrWithTwoIsRefusedButHttp10MayOmitIt() {
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", 0)).isEqualTo(BAD);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", 2)).isEqualTo(BAD);
        assertThat(check(HttpVersion.HTTP_1_0, HttpMethod.GET, "/", 0)).isEqualTo(RequestChecks.ACCEPTED);
    }

    @Test
    void aVersionOtherThan10Or11IsRefused() {
        assertThat(check(HttpVersion.valueOf("HTTP/1.2"), HttpMethod.GET, "/", 1)).isEqualTo(BAD);
        assertThat(check(HttpVersion.valueOf("HTTP/2.0"), HttpMethod.GET, "/", 1)).isEqualTo(BAD);
    }

    @Test
    void onlyOriginFormAbsoluteFormAndAnAsteriskForOptionsAreTargets() {
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "http://example.com/x", 1)).isEqualTo(RequestChecks.ACCEPTED);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "*", 1)).isEqualTo(RequestChecks.ACCEPTED);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "*", 1)).isEqualTo(BAD);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.CONNECT, "example.com:443", 1)).isEqualTo(BAD);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "example.com/x", 1)).isEqualTo(BAD);
        // Userinfo must not be sent in an http URI (RFC 9110 §4.2.4), and an authority must name a host.
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "http://user@example.com/", 1)).isEqualTo(BAD);
        assertThat(check(HttpVersion.HTTP_1_1, HttpMethod.GET, "http:///x", 1)).isEqualTo(BAD);
    }

    @Test
    void moreFieldsThanTheListenerAllowsAre431() {
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        assertThat(RequestChecks.check(head, 101, 1, 100))
                .isEqualTo(new RequestChecks.Verdict.Refused(FailureKind.HEADERS_TOO_LARGE));
    }

    @Test
    void anAbsoluteFormTargetsAuthorityIsItsHost() {
        assertThat(RequestChecks.absoluteFormAuthority("HTTP://Example.com:8080/x?y")).contains("Example.com:8080");
        assertThat(RequestChecks.absoluteFormAuthority("https://a.example")).contains("a.example");
        assertThat(RequestChecks.absoluteFormAuthority("/http://a.example/")).isEqualTo(Optional.empty());
    }

    @Test
    void decoderFailuresBecome414431Or400() {
        assertThat(RequestChecks.rejectionKind(new TooLongHttpLineException("long"))).isEqualTo(FailureKind.REQUEST_LINE_TOO_LONG);
        assertThat(RequestChecks.rejectionKind(new TooLongFrameException("big"))).isEqualTo(FailureKind.HEADERS_TOO_LARGE);
        assertThat(RequestChecks.rejectionKind(new IllegalArgumentException("bad"))).isEqualTo(FailureKind.BAD_REQUEST);
    }
}
