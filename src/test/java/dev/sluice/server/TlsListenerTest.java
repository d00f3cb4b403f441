package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener on real sockets: TLS 1.2 and 1.3 handshakes with a CA made for the test, the
 * certificate chosen by SNI, ALPN, {@code X-Forwarded-Proto: https} at the backend, and failed
 * handshakes (plain HTTP, a cipher outside the list, silence past the deadline) counted and closed,
 * and a returning client's session resumed.
 */
class TlsListenerTest {
    @TempDir
    static Path dir;
    static TestCertificates ca;
    static TestBackend backend;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.authority();
        ca.issue("default.test").writeTo(dir.resolve("default.pem"), dir.resolve("default.key"));
        ca.issue("a.test").writeTo(dir.resolve("a.pem"), dir.resolve("a.key"));
        ca.issue("*.b.test").writeTo(dir.resolve("b.pem"), dir.resolve("b.key"));
        backend = TestBackend.start(BackendHandlers.fixed(200, "hello over tls"));
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    name: secure
                    tls:
                      cert: %1$s/default.pem
                      key: %1$s/default.key
                      certificates:
                        - { cert: %1$s/a.pem, key: %1$s/a.key }
                        - { cert: %1$s/b.pem, key: %1$s/b.key }
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                """.formatted(dir, backend.authority()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    @Test
    void onLinuxX8664BoringSslServes() {
        // netty-tcnative-boringssl-static's linux-x86_64 jar is on the class path: the JDK's TLS is only the fallback.
        assertThat(dev.sluice.tls.ServerTls.provider()).isEqualTo("openssl");
    }

    @Test
    void tls12AndTls13ClientsAreServedAndTheBackendIsToldHttps() throws Exception {
        for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
            try (SSLSocket socket = connect("a.test", protocol)) {
                assertThat(socket.getSession().getProtocol()).isEqualTo(protocol);
                String response = get(socket, "a.test");
                assertThat(response).startsWith("HTTP/1.1 200").endsWith("hello over tls");
            }
            assertThat(backend.lastRequest().header("x-forwarded-proto")).as(protocol).isEqualTo("https");
        }
    }

    @Test
    void theCertificateIsChosenByTheNameTheClientAsksForAndTheFirstServesTheRest() throws Exception {
        assertThat(servedNames("a.test")).containsExactly("a.test");
        assertThat(servedNames("shop.b.test")).as("a wildcard").containsExactly("*.b.test");
        assertThat(servedNames("elsewhere.test")).as("an unknown name: the default").containsExactly("default.test");
        assertThat(servedNames(null)).as("no name at all (an IP address)").containsExactly("default.test");
    }

    @Test
    void alpnSelectsHttp11ForAClientOfferingOnlyIt() throws Exception {
        try (SSLSocket socket = (SSLSocket) ca.sslContext().getSocketFactory().createSocket()) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setServerNames(List.of(new SNIHostName("a.test")));
            parameters.setApplicationProtocols(new String[] {"http/1.1"});
            socket.setSSLParameters(parameters);
            socket.connect(gateway.address(), 5_000);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo("http/1.1");
            assertThat(get(socket, "a.test")).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void failedHandshakesAreCountedByWhyAndTheirConnectionsClosed() throws Exception {
        try (Socket plain = new Socket()) {
            plain.connect(gateway.address(), 5_000);
            plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readAll(plain.getInputStream())).as("plain HTTP gets no HTTP answer").doesNotContain("HTTP/1.1");
        }
        try (SSLSocket weak = (SSLSocket) ca.sslContext().getSocketFactory().createSocket()) {
            weak.setEnabledProtocols(new String[] {"TLSv1.2"});
            // CBC without AEAD: outside Mozilla's intermediate list, so there is nothing to agree on.
            weak.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"});
            weak.connect(gateway.address(), 5_000);
            weak.setSoTimeout(10_000);
            try {
                weak.startHandshake();
                throw new AssertionError("a handshake with a CBC cipher succeeded");
            } catch (SSLException | java.net.SocketException refused) {
                // Expected: the server has no cipher in common with this client.
            }
        }
        Await.untilAsserted(Duration.ofSeconds(10), () -> assertThat(gateway.gateway().metrics().scrape())
                .contains("sluice_tls_handshake_failures_total{listener=\"secure\",reason=\"not_tls\"} 1.0")
                .contains("sluice_tls_handshake_failures_total{listener=\"secure\",reason=\"refused\"} 1.0"));
    }

    @Test
    void aClientSilentPastTheHandshakeTimeoutIsClosedAndCounted() throws Exception {
        try (TestGateway strict = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    name: strict
                    tls: { cert: %1$s/default.pem, key: %1$s/default.key, handshake_timeout: 200ms }
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                """.formatted(dir, backend.authority()));
             Socket silent = new Socket()) {
            silent.connect(strict.address(), 5_000);
            silent.setSoTimeout(10_000);
            assertThat(silent.getInputStream().read()).as("closed at the handshake deadline").isEqualTo(-1);
            Await.untilAsserted(Duration.ofSeconds(10), () -> assertThat(strict.gateway().metrics().scrape())
                    .contains("sluice_tls_handshake_failures_total{listener=\"strict\",reason=\"timeout\"} 1.0"));
        }
    }

    /**
     * A returning client resumes its session instead of a full handshake, over TLS 1.3 (by the
     * session ticket Sluice sends after the handshake, RFC 8446 §4.6.1: the only way TLS 1.3
     * resumes) and TLS 1.2. Driven by {@code openssl s_client}, which says {@code Reused} or
     * {@code New} for each connection.
     */
    @Test
    void aReturningClientResumesItsSessionOverTls13AndTls12() throws Exception {
        for (String protocol : List.of("-tls1_3", "-tls1_2")) {
            Path session = dir.resolve("session" + protocol + ".pem");
            String first = sClient(protocol, "-sess_out", session);
            assertThat(first).as(protocol + " first connection").contains("HTTP/1.1 200").containsPattern("(?m)^New, TLSv1\\.[23]");
            assertThat(session).as(protocol + ": the session (with its ticket) openssl kept").isNotEmptyFile();

            String second = sClient(protocol, "-sess_in", session);

            assertThat(second).as(protocol + " second connection").contains("HTTP/1.1 200")
                    .containsPattern("(?m)^Reused, TLSv1\\.[23]");
        }
    }

    /** One {@code openssl s_client} connection sending a GET with {@code Connection: close}; its output. */
    private static String sClient(String protocol, String sessionOption, Path session) throws Exception {
        // Never skipped: bin/test installs openssl where it can, and a machine without it fails here saying so.
        assertThat(Path.of("/usr/bin/openssl")).as("openssl (Debian's package; bin/test installs it when run as root)")
                .isExecutable();
        Process process = new ProcessBuilder("/usr/bin/openssl", "s_client", protocol, "-connect",
                "127.0.0.1:" + gateway.address().getPort(), "-servername", "default.test", sessionOption,
                session.toString(), "-ign_eof").redirectErrorStream(true).start();
        try (var in = process.getOutputStream()) {
            in.write("GET / HTTP/1.1\r\nHost: default.test\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("openssl s_client did not finish within 20 s");
        }
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    private static List<String> servedNames(String sni) throws Exception {
        try (SSLSocket socket = connect(sni, "TLSv1.3")) {
            X509Certificate served = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            return served.getSubjectAlternativeNames().stream().map(entry -> entry.get(1).toString()).toList();
        }
    }

    static SSLSocket connect(String sni, String protocol) throws IOException {
        SSLSocket socket = (SSLSocket) ca.sslContext().getSocketFactory().createSocket();
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
        // The test CA names no IP address: the name check is SNI's test here, not the client's.
        parameters.setEndpointIdentificationAlgorithm(null);
        parameters.setProtocols(new String[] {protocol});
        socket.setSSLParameters(parameters);
        socket.connect(new InetSocketAddress("127.0.0.1", gateway.address().getPort()), 5_000);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    static String get(Socket socket, String host) throws IOException {
        socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return readAll(socket.getInputStream());
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            in.transferTo(out);
        } catch (java.net.SocketException reset) {
            // A connection closed with a reset ends the answer too.
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }
}
