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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener's certificate renewed on disk (as certbot or cert-manager do) or reloaded is
 * served to the next connection, while connections open since before keep working, under load
 * too; a renewal that cannot be used is refused at its {@code cert:} key and the old certificate
 * keeps serving.
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
    void underLoadARenewalOnDiskDropsNoConnectionAndFailsNoRequest() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(config(backend, "100ms"), dir, LONG_BAKE)) {
            BigInteger first = servedToANewConnection(sluice);
            List<KeptAliveClient> clients = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                clients.add(KeptAliveClient.start(ca, sluice, "busy-" + i));
            }
            try {
                Await.until(AWAIT, () -> clients.stream().allMatch(c -> c.answered() >= 20),
                        "every client well under way on its connection");

                TestCertificates.Issued renewed = renew();
                Await.until(AWAIT, () -> renewed.certificate().getSerialNumber().equals(uncheckedServed(sluice)),
                        "the renewed certificate served to a new connection");
                List<Long> atRenewal = clients.stream().map(KeptAliveClient::answered).toList();
                Await.until(AWAIT, () -> {
                    for (int i = 0; i < clients.size(); i++) {
                        if (clients.get(i).answered() < atRenewal.get(i) + 20) {
                            return false;
                        }
                    }
                    return true;
                }, "every client going on with requests on its connection after the renewal");
            } finally {
                clients.forEach(KeptAliveClient::stop);
            }

            for (KeptAliveClient client : clients) {
                assertThat(client.failures()).as(client.name + ": failed requests").isEmpty();
                assertThat(client.servedSerial()).as(client.name + ": the certificate of its handshake")
                        .isEqualTo(first);
            }
        }
    }

    /**
     * One client on one TLS keep-alive connection, sending requests back to back on its own thread
     * until stopped. It never reconnects: a request that fails, or a connection that ends, is
     * recorded as a failure, and the thread stops.
     */
    private static final class KeptAliveClient {
        final String name;
        private final SSLSocket socket;
        private final RawHttpClient http;
        private final AtomicLong answered = new AtomicLong();
        private final List<String> failures = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final Thread thread;

        private KeptAliveClient(String name, SSLSocket socket) {
            this.name = name;
            this.socket = socket;
            this.http = RawHttpClient.over(socket);
            this.thread = Thread.ofPlatform().name(name).daemon().start(this::run);
        }

        static KeptAliveClient start(TestCertificates ca, InProcessSluice sluice, String name) {
            return new KeptAliveClient(name, TlsClients.connect(ca.sslContext(), sluice.listener(), "shop.test", "TLSv1.3"));
        }

        private void run() {
            while (!stopping.get()) {
                try {
                    RawResponse response = get(http);
                    if (response.status() != 200 || response.connectionClose()) {
                        failures.add("request " + (answered.get() + 1) + ": " + response.status()
                                + (response.connectionClose() ? " with Connection: close" : ""));
                        return;
                    }
                    answered.incrementAndGet();
                } catch (RuntimeException | AssertionError e) {
                    failures.add("request " + (answered.get() + 1) + ": " + e);
                    return;
                }
            }
        }

        long answered() {
            return answered.get();
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        BigInteger servedSerial() {
            return TlsClients.servedSerial(socket);
        }

        /** Lets the request in progress finish, then closes the connection. */
        void stop() {
            stopping.set(true);
            try {
                thread.join(Duration.ofSeconds(15));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            http.close();
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
