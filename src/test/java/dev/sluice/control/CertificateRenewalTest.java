package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestCertificates;
import dev.sluice.testing.TlsClients;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener's certificate renewed on disk (as certbot or cert-manager do) or reloaded is
 * served to the next connection, while a connection open since before keeps working; a renewal
 * that cannot be used is refused at its {@code cert:} key and the old certificate keeps serving.
 */
class CertificateRenewalTest {
    private static final Duration AWAIT = Duration.ofSeconds(15);
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);

    @TempDir
    Path dir;
    TestCertificates ca;
    Path cert;
    Path key;

    @BeforeEach
    void firstCertificate() throws Exception {
        ca = TestCertificates.authority();
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        ca.issue("shop.test").writeTo(cert, key);
    }

    private String config(CountingBackend backend, String watchInterval) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    name: public
                    tls:
                      cert: %s
                      key: %s
                      watch_interval: %s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                """.formatted(cert, key, watchInterval, backend.address());
    }

    /** Writes a renewal as certbot does: new files beside the old, then renamed over them. */
    private TestCertificates.Issued renew() throws Exception {
        TestCertificates.Issued renewed = ca.issue("shop.test");
        renewed.writeTo(dir.resolve("cert.new"), dir.resolve("key.new"));
        Files.move(dir.resolve("key.new"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(dir.resolve("cert.new"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return renewed;
    }

    private BigInteger servedToANewConnection(InProcessSluice sluice) throws Exception {
        try (SSLSocket socket = TlsClients.connect(ca.sslContext(), sluice.listener(), "shop.test", "TLSv1.3")) {
            return TlsClients.servedSerial(socket);
        }
    }

    private static RawResponse get(RawHttpClient client) {
        return client.send("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n").readResponse(Duration.ofSeconds(10));
    }

    @Test
    void aCertificateRenewedOnDiskIsServedToTheNextConnectionWhileAnOpenOneKeepsWorking() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "100ms"), dir, LONG_BAKE)) {
            SSLSocket before = TlsClients.connect(ca.sslContext(), sluice.listener(), "shop.test", "TLSv1.3");
            try (RawHttpClient open = RawHttpClient.over(before)) {
                BigInteger first = TlsClients.servedSerial(before);
                assertThat(get(open).status()).isEqualTo(200);

                TestCertificates.Issued renewed = renew();
                Await.until(AWAIT, () -> renewed.certificate().getSerialNumber().equals(uncheckedServed(sluice)),
                        "the renewed certificate served to a new connection");

                assertThat(get(open).status()).as("the connection open since before the renewal").isEqualTo(200);
                assertThat(TlsClients.servedSerial(before)).isEqualTo(first);
            }
        }
    }

    @Test
    void aReloadServesRenewedFilesEvenWhenTheConfigTextIsUnchanged() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "1h"), dir, LONG_BAKE)) {
            TestCertificates.Issued renewed = renew();

            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().path("unchanged").asBoolean()).isTrue();
            assertThat(servedToANewConnection(sluice)).isEqualTo(renewed.certificate().getSerialNumber());
        }
    }

    @Test
    void aKeyThatDoesNotMatchIsRefusedAtItsCertKeyAndTheOldCertificateKeepsServing() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "1h"), dir, LONG_BAKE)) {
            BigInteger first = servedToANewConnection(sluice);
            // Half a renewal: the certificate replaced, the key not.
            TestCertificates.Issued renewed = ca.issue("shop.test");
            renewed.writeTo(cert, dir.resolve("unused.key"));

            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).as(answer.body()).isEqualTo(400);
            assertThat(answer.json().path("errors").get(0).path("text").asText()).isEqualTo(sluice.configFile()
                    + ":5:7: listeners[0].tls.cert: the private key in '" + key + "' does not belong to the certificate in '"
                    + cert + "' (for shop.test): a renewal may have replaced one file and not yet the other");
            assertThat(servedToANewConnection(sluice)).isEqualTo(first);
        }
    }

    private BigInteger uncheckedServed(InProcessSluice sluice) {
        try {
            return servedToANewConnection(sluice);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
