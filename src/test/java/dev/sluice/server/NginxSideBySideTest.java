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
 * X-Forwarded-*, the traceparent it starts). Field order differs (nginx writes the fields it sets first) and so does the
 * case of a set field's name (each writes it as configured), so fields are compared by
 * lower-case name, in order per name. And {@code gzip on} beside {@code compress}: the same
 * decoded bytes and encoding fields at the client. Needs nginx on the PATH (interop/run's nginx).
 */
class NginxSideBySideTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final Set<String> SLUICES_OWN = Set.of("via", "x-request-id", "x-forwarded-for", "x-forwarded-proto",
            "x-forwarded-host", "traceparent");

    @TempDir
    Path dir;

    @Test
    void aPathRewriteAndHeaderRulesReachTheBackendAsNginxsDo() throws Exception {
        // Never skipped: bin/test installs nginx where it can, and a machine without it fails here saying so.
        assertThat(Path.of("/usr/sbin/nginx")).as("nginx (Debian's package; bin/test installs it when run as root)")
                .isExecutable();
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo())) {
            int nginxPort = Ports.freeLoopbackPort();
            Process nginx = nginx("""
                      upstream app { server %1$s; keepalive 4; }
                      server {
                        listen 127.0.0.1:%2$d;
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
                    """.formatted(backend.authority(), nginxPort), nginxPort);
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

    /**
     * nginx's {@code gzip on} and Sluice's {@code compress} on the same responses, at the same
     * level, types and minimum size: the client decodes the same bytes from both, and the fields
     * that say how the body was encoded and how caches may keep it are the same (nginx with
     * {@code gzip_vary on}, the setting a cache in front needs); so are the responses each leaves
     * alone, and a compressible one for a client that does not accept gzip.
     */
    @Test
    void gzipOnAndCompressGiveTheClientTheSameBytesAndFields() throws Exception {
        assertThat(Path.of("/usr/sbin/nginx")).as("nginx (Debian's package; bin/test installs it when run as root)")
                .isExecutable();
        byte[] page = ResponseCompressionTest.text(12 * 1024);
        try (TestBackend backend = TestBackend.start(ex -> {
            io.netty.handler.codec.http.HttpHeaders h = new io.netty.handler.codec.http.DefaultHttpHeaders()
                    .add("content-type", ex.path().equals("/image") ? "image/png" : "text/html; charset=utf-8")
                    .add("etag", "\"v7\"").add("accept-ranges", "bytes").add("cache-control", "max-age=60");
            ex.respond(200, h, ex.path().equals("/small") ? java.util.Arrays.copyOf(page, 500) : page);
        })) {
            int nginxPort = Ports.freeLoopbackPort();
            Process nginx = nginx("""
                      gzip on; gzip_comp_level 5; gzip_min_length 1024; gzip_vary on; gzip_proxied any;
                      gzip_types text/plain text/css application/json;
                      upstream app { server %1$s; keepalive 4; }
                      server {
                        listen 127.0.0.1:%2$d;
                        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
                      }
                    """.formatted(backend.authority(), nginxPort), nginxPort);
            try (TestGateway sluice = TestGateway.fromYaml("""
                    listeners:
                      - address: 127.0.0.1:0
                    routes:
                      - match: { path_prefix: / }
                        cluster: app
                        compress:
                          encodings: [gzip]
                          types: [text/html, text/plain, text/css, application/json]
                          min_size: 1024
                          gzip_level: 5
                    clusters:
                      - name: app
                        endpoints: [%s]
                    """.formatted(backend.authority()))) {
                for (String accept : new String[] {"gzip, deflate, br", "identity"}) {
                    for (String path : new String[] {"/page", "/small", "/image"}) {
                        String request = "GET " + path + " HTTP/1.1\r\nHost: shop.example\r\nAccept-Encoding: " + accept
                                + "\r\n\r\n";
                        RawResponse viaNginx = answer(RawHttpClient.connect(nginxPort), request);
                        RawResponse viaSluice = answer(RawHttpClient.connect(sluice.address()), request);
                        String what = path + " for Accept-Encoding: " + accept;
                        assertThat(encodingFields(viaSluice)).as(what).isEqualTo(encodingFields(viaNginx));
                        assertThat(decoded(viaSluice)).as(what).isEqualTo(decoded(viaNginx));
                    }
                }
                RawResponse gzipped = answer(RawHttpClient.connect(sluice.address()),
                        "GET /page HTTP/1.1\r\nHost: shop.example\r\nAccept-Encoding: gzip\r\n\r\n");
                assertThat(encodingFields(gzipped)).containsEntry("content-encoding", List.of("gzip"))
                        .containsEntry("vary", List.of("Accept-Encoding")).containsEntry("etag", List.of("W/\"v7\""))
                        .containsEntry("transfer-encoding", List.of("chunked"));
                assertThat(decoded(gzipped)).isEqualTo(page);
            } finally {
                nginx.destroy();
                nginx.waitFor();
            }
        }
    }

    /** The fields that say how a body is encoded and may be cached, by lower-case name. */
    private static Map<String, List<String>> encodingFields(RawResponse r) {
        Set<String> names = Set.of("content-type", "content-encoding", "content-length", "transfer-encoding", "vary", "etag",
                "accept-ranges", "cache-control");
        Map<String, List<String>> fields = new java.util.TreeMap<>();
        for (Map.Entry<String, String> f : r.headers()) {
            String name = f.getKey().toLowerCase(Locale.ROOT);
            if (names.contains(name)) {
                fields.computeIfAbsent(name, n -> new java.util.ArrayList<>()).add(f.getValue());
            }
        }
        return fields;
    }

    private static byte[] decoded(RawResponse r) {
        return "gzip".equals(r.header("content-encoding")) ? ResponseCompressionTest.gunzip(r.body()) : r.body();
    }

    private static RawResponse answer(RawHttpClient client, String request) {
        try (client) {
            RawResponse r = client.send(request).readResponse(T);
            assertThat(r.status()).isEqualTo(200);
            return r;
        }
    }

    /** nginx in the foreground with {@code httpBlock} inside its {@code http {}}, once it listens on {@code port}. */
    private Process nginx(String httpBlock, int port) throws Exception {
        Files.createDirectories(dir.resolve("logs"));
        Files.writeString(dir.resolve("nginx.conf"), """
                worker_processes 1; daemon off; pid %1$s/nginx.pid; error_log %1$s/logs/error.log;
                events {}
                http {
                  access_log off; client_body_temp_path %1$s; proxy_temp_path %1$s;
                %2$s}
                """.formatted(dir, httpBlock));
        Process nginx = new ProcessBuilder("/usr/sbin/nginx", "-p", dir.toString(), "-c", "nginx.conf")
                .redirectErrorStream(true).redirectOutput(dir.resolve("logs/out.log").toFile()).start();
        Await.until(T, () -> {
            try (RawHttpClient c = RawHttpClient.connect(port)) {
                return true;
            } catch (RuntimeException notYet) {
                return false;
            }
        }, "nginx listening");
        return nginx;
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
