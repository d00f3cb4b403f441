package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.HeadlessChromium;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;

/**
 * A browser's protocol negotiation against a TLS listener, as issue 17 judges it: headless Chromium
 * offers {@code h2} then {@code http/1.1} by ALPN, gets {@code h2} from a listener with HTTP/2 on
 * (the default) and {@code http/1.1} from one with {@code http2: false}; the page and a request it
 * makes itself both load, and the access log names the protocol each came over. What the browser
 * reports is its own: the Resource Timing API's {@code nextHopProtocol}.
 *
 * <p>The browser is told to ignore certificate errors (the test CA is not in its trust store):
 * what is tested is negotiation; {@link CurlAndH2loadOverTlsTest} verifies the certificate.
 */
class BrowserOverTlsTest {
    private static final String NAME = "shop.test";

    @TempDir
    static Path dir;
    static TestBackend backend;
    static TestGateway h2;
    static TestGateway http1Only;

    @BeforeAll
    static void start() throws Exception {
        TestCertificates.authority().issue(NAME).writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        backend = TestBackend.start(BackendHandlers.echo());
        String config = """
                listeners:
                  - address: 127.0.0.1:0
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }%3$s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                """;
        h2 = TestGateway.fromYaml(config.formatted(dir, backend.authority(), ""));
        http1Only = TestGateway.fromYaml(config.formatted(dir, backend.authority(), "\n    http2: false"));
    }

    @AfterAll
    static void stop() {
        h2.close();
        http1Only.close();
        backend.close();
    }

    @Test
    void chromiumGetsH2ByAlpnAndThePageAndItsFetchComeOverIt() throws Exception {
        assertThat(load(h2, "/h2-page", "/h2-fetch")).isEqualTo("h2 h2");
        assertThat(backend.lastRequest().header("x-forwarded-proto")).isEqualTo("https");
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(h2.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/h2-page\"").contains("\"protocol\":\"HTTP/2.0\""))
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/h2-fetch\"").contains("\"protocol\":\"HTTP/2.0\"")));
    }

    @Test
    void chromiumFallsBackToHttp11WhereTheListenerOffersOnlyThat() throws Exception {
        assertThat(load(http1Only, "/h1-page", "/h1-fetch")).isEqualTo("http/1.1 http/1.1");
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(http1Only.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/h1-page\"").contains("\"protocol\":\"HTTP/1.1\""))
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/h1-fetch\"").contains("\"protocol\":\"HTTP/1.1\"")));
    }

    /** Opens {@code page} on {@code gateway}, has it fetch {@code fetched}; both protocols as the browser saw them. */
    private static String load(TestGateway gateway, String page, String fetched) throws Exception {
        WebDriver browser = HeadlessChromium.start(Files.createTempDirectory(dir, "chromium"), "--ignore-certificate-errors",
                "--host-resolver-rules=MAP " + NAME + " 127.0.0.1");
        try {
            browser.get("https://" + NAME + ":" + gateway.address().getPort() + page);
            Object seen = ((JavascriptExecutor) browser).executeScript("""
                    const answer = await fetch(arguments[0]);
                    await answer.text();
                    const url = new URL(arguments[0], location.href).href;
                    return performance.getEntriesByType('navigation')[0].nextHopProtocol + ' '
                        + performance.getEntriesByName(url)[0].nextHopProtocol;
                    """, fetched);
            return String.valueOf(seen);
        } finally {
            browser.quit();
        }
    }
}
