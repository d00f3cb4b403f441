package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Ports;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same rules in nginx and in Sluice (strip a path prefix, set a field, remove one), the same
 * request through each to one backend: the backend sees the same request line and the same fields
 * with the same values, but for the fields Sluice adds of its own (Via, x-request-id,
 * X-Forwarded-*). Field order differs (nginx writes the fields it sets first) and so does the
 * case of a set field's name (each writes it as configured), so fields are compared by
 * lower-case name, in order per name. Needs nginx on the PATH (interop/run's nginx).
 */
class NginxSideBySideTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final Set<String> SLUICES_OWN = Set.of("via", "x-request-id", "x-forwarded-for", "x-forwarded-proto",
            "x-forwarded-host");

    @TempDir
    Path dir;

    @Test
    void aPathRewriteAndHeaderRulesReachTheBackendAsNginxsDo() throws Exception {
        // Never skipped: bin/test installs nginx where it can, and a machine without it fails here saying so.
        assertThat(Path.of("/usr/sbin/nginx")).as("nginx (Debian's package; bin/test installs it when run as root)")
                .isExecutable();
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo())) {
            int nginxPort = Ports.freeLoopbackPort();
            Files.createDirectories(dir.resolve("logs"));
            Files.writeString(dir.resolve("nginx.conf"), """
                    worker_processes 1; daemon off; pid %1$s/nginx.pid; error_log %1$s/logs/error.log;
                    events {}
                    http {
                      access_log off; client_body_temp_path %1$s; proxy_temp_path %1$s;
                      upstream app { server %2$s; keepalive 4; }
                      server {
                        listen 127.0.0.1:%3$d;
                        location /api/ {
                          rewrite ^/api/(.*)$ /$1 break;
                          proxy_pass http://app;
                          proxy_http_version 1.1;
                          proxy_set_header Connection "";
                          proxy_set_header Host $http_host;
                          proxy_set_header X-Env prod;
                          proxy_set_header Cookie "";
                        }
                      }
                    }
                    """.formatted(dir, backend.authority(), nginxPort));
            Process nginx = new ProcessBuilder("/usr/sbin/nginx", "-p", dir.toString(), "-c", "nginx.conf")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("logs/out.log").toFile()).start();
            try (TestGateway sluice = TestGateway.fromYaml("""
                    listeners:
                      - address: 127.0.0.1:0
                    routes:
                      - match: { path_prefix: /api/ }
                        cluster: app
                        strip_prefix: true
                        request_headers: { set: { x-env: prod }, remove: [cookie] }
                    clusters:
                      - name: app
                        endpoints: [%s]
                    """.formatted(backend.authority()))) {
                String request = "GET /api/orders/7?id=7&sort=desc HTTP/1.1\r\nHost: shop.example\r\n"
                        + "User-Agent: side-by-side\r\nAccept: */*\r\nCookie: session=1\r\nX-Env: dev\r\n"
                        + "Accept-Language: fr, en;q=0.5\r\n\r\n";
                Await.until(T, () -> {
                    try (RawHttpClient c = RawHttpClient.connect(nginxPort)) {
                        return true;
                    } catch (RuntimeException notYet) {
                        return false;
                    }
                }, "nginx listening");
                RecordedRequest viaNginx = through(RawHttpClient.connect(nginxPort), request, backend);
                RecordedRequest viaSluice = through(RawHttpClient.connect(sluice.address()), request, backend);

                assertThat(viaSluice.method() + " " + viaSluice.uri() + " " + viaSluice.version())
                        .isEqualTo(viaNginx.method() + " " + viaNginx.uri() + " " + viaNginx.version())
                        .isEqualTo("GET /orders/7?id=7&sort=desc HTTP/1.1");
                assertThat(fields(viaSluice, true)).isEqualTo(fields(viaNginx, false));
                assertThat(fields(viaNginx, false)).containsEntry("x-env", List.of("prod"))
                        .containsEntry("host", List.of("shop.example")).doesNotContainKey("cookie");
            } finally {
                nginx.destroy();
                nginx.waitFor();
            }
        }
    }

    private static RecordedRequest through(RawHttpClient client, String request, TestBackend backend) {
        backend.clearRequests();
        try (client) {
            RawResponse r = client.send(request).readResponse(T);
            assertThat(r.status()).isEqualTo(200);
        }
        return backend.awaitRequests(1, T).get(0);
    }

    /** Name (lower case) to its values in order; Sluice's own fields left out of what Sluice forwarded. */
    private static Map<String, List<String>> fields(RecordedRequest r, boolean sluice) {
        Map<String, List<String>> fields = new java.util.TreeMap<>();
        for (Map.Entry<String, String> f : r.headers()) {
            String name = f.getKey().toLowerCase(Locale.ROOT);
            if (!(sluice && SLUICES_OWN.contains(name))) {
                fields.computeIfAbsent(name, n -> new java.util.ArrayList<>()).add(f.getValue());
            }
        }
        return fields;
    }
}
