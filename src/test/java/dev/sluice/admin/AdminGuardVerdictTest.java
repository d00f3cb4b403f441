package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.admin.AdminGuard.Verdict;
import dev.sluice.config.AdminToken;
import dev.sluice.config.HostPort;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link AdminGuard}'s verdicts, without sockets: the field values a browser, a script and an attacker send. */
class AdminGuardVerdictTest {
    private static final String TOKEN = "0123456789abcdef0123456789abcdef";
    private final AdminGuard loopback = new AdminGuard(Optional.empty(), new HostPort("127.0.0.1", 9901));
    private final AdminGuard withToken = new AdminGuard(AdminToken.of(TOKEN), new HostPort("0.0.0.0", 9901));

    private static HttpHeaders fields(String... nameValues) {
        HttpHeaders headers = new DefaultHttpHeaders();
        for (int i = 0; i < nameValues.length; i += 2) {
            headers.add(nameValues[i], nameValues[i + 1]);
        }
        return headers;
    }

    @Test
    void loopbackNamesInEveryFormAreTheAdminsOwn() {
        for (String host : new String[] {"127.0.0.1:9901", "localhost:9901", "LOCALHOST", "[::1]:9901", "127.1.2.3:9901"}) {
            assertThat(loopback.check(HttpMethod.GET, "/status", fields("Host", host))).as(host)
                    .isInstanceOf(Verdict.Allowed.class);
        }
        assertThat(loopback.check(HttpMethod.GET, "/status", fields("Host", "attacker.example:9901")))
                .isInstanceOfSatisfying(Verdict.Refused.class, r -> assertThat(r.status()).isEqualTo(403));
    }

    @Test
    void aStateChangingRequestNeedsTheFieldAndNoForeignOrigin() {
        HttpHeaders script = fields("Host", "127.0.0.1:9901", "X-Sluice-Admin", "1");
        HttpHeaders ownPage = fields("Host", "127.0.0.1:9901", "X-Sluice-Admin", "1", "Origin", "http://127.0.0.1:9901");
        HttpHeaders sandboxed = fields("Host", "127.0.0.1:9901", "X-Sluice-Admin", "1", "Origin", "null");
        HttpHeaders form = fields("Host", "127.0.0.1:9901", "Origin", "http://127.0.0.1:9901");

        assertThat(loopback.check(HttpMethod.POST, "/rollback", script)).isInstanceOf(Verdict.Allowed.class);
        assertThat(loopback.check(HttpMethod.POST, "/rollback", ownPage)).isInstanceOf(Verdict.Allowed.class);
        assertThat(loopback.check(HttpMethod.POST, "/rollback", sandboxed)).isInstanceOf(Verdict.Refused.class);
        assertThat(loopback.check(HttpMethod.POST, "/rollback", form)).isInstanceOf(Verdict.Refused.class);
        assertThat(loopback.check(HttpMethod.DELETE, "/anything", form)).as("any method but GET and HEAD")
                .isInstanceOf(Verdict.Refused.class);
    }

    @Test
    void withATokenEveryRequestButTheProbesPresentsItInAnyCaseOfBearer() {
        assertThat(withToken.check(HttpMethod.GET, "/status", fields("Host", "sluice-1.internal:9901")))
                .isInstanceOfSatisfying(Verdict.Refused.class, r -> {
                    assertThat(r.status()).isEqualTo(401);
                    assertThat(r.challenge()).hasValueSatisfying(c -> assertThat(c).startsWith("Bearer"));
                });
        assertThat(withToken.check(HttpMethod.GET, "/status", fields("Host", "sluice-1.internal:9901",
                "Authorization", "bearer " + TOKEN))).isInstanceOf(Verdict.Allowed.class);
        assertThat(withToken.check(HttpMethod.GET, "/status", fields("Authorization", "Basic " + TOKEN)))
                .isInstanceOf(Verdict.Refused.class);
        assertThat(withToken.check(HttpMethod.GET, "/ready", fields())).isInstanceOf(Verdict.Allowed.class);
        assertThat(withToken.check(HttpMethod.GET, "/live", fields())).isInstanceOf(Verdict.Allowed.class);
    }

    @Test
    void theHostOfAHostFieldLosesItsPortAndBrackets() {
        assertThat(AdminGuard.hostName("[::1]:9901")).isEqualTo("::1");
        assertThat(AdminGuard.hostName("Example.COM:80")).isEqualTo("example.com");
        assertThat(AdminGuard.hostName("example.com")).isEqualTo("example.com");
    }
}
