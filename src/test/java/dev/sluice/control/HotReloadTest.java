package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reloads swap the whole config at once, under load, without failing a request; bad configs change nothing. */
class HotReloadTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);

    @TempDir
    Path dir;

    /** web takes the endpoints labelled app: web, api those labelled app: api; {@code moving} switches sides. */
    private static String selectorConfig(CountingBackend web, CountingBackend moving, CountingBackend api, String movingApp) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                endpoints:
                  - { address: %s, labels: { app: web } }
                  - { address: %s, labels: { app: %s } }
                  - { address: %s, labels: { app: api } }
                routes:
                  - match: { path_prefix: /api/ }
                    cluster: api
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    select: { app: api }
                admin:
                  address: 127.0.0.1:0
                access_log: off
                """.formatted(web.address(), moving.address(), movingApp, api.address());
    }

    @Test
    void fiftyReloadsThatMoveAnEndpointBetweenClustersUnderLoadFailNoRequest() throws Exception {
        try (CountingBackend web = new CountingBackend("web");
             CountingBackend moving = new CountingBackend("moving");
             CountingBackend api = new CountingBackend("api");
             InProcessSluice sluice = InProcessSluice.start(selectorConfig(web, moving, api, "web"), dir, LONG_BAKE)) {
            String toApi = selectorConfig(web, moving, api, "api");
            String toWeb = selectorConfig(web, moving, api, "web");

            SteadyLoad load = SteadyLoad.start(sluice.listener(), 16, "/", "/api/x");
            for (int i = 1; i <= 50; i++) {
                sluice.writeConfig(i % 2 == 1 ? toApi : toWeb);
                AdminHttp.Answer answer = sluice.admin().post("/reload");
                assertThat(answer.status()).as("reload %d: %s", i, answer.body()).isEqualTo(200);
                assertThat(answer.json().path("version").asInt()).isEqualTo(i + 1);
                // Let traffic flow on each config before the next swap.
                long seen = load.responses();
                Await.until(AWAIT, () -> load.responses() >= seen + 40, "requests after reload " + i);
            }
            load.stop();

            assertThat(load.failures()).isEmpty();
            assertThat(load.non200()).isEmpty();
            assertThat(load.responses()).isGreaterThan(2000);
            assertThat(moving.requests("/")).as("moving endpoint served web").isPositive();
            assertThat(moving.requests("/api/")).as("moving endpoint served api").isPositive();
            assertThat(web.requests("/api/")).as("web never sees api traffic").isZero();
            assertThat(api.requests("/")).as("api never sees web traffic").isZero();
            JsonNode versions = sluice.admin().get("/config/versions").json();
            assertThat(versions.path("current").asInt()).isEqualTo(51);
            assertThat(versions.path("versions")).hasSize(51);
        }
    }

    @Test
    void anInvalidConfigPostedIsRefusedWithLineAndColumnAndTrafficIsUnaffected() throws Exception {
        try (CountingBackend web = new CountingBackend("web");
             CountingBackend moving = new CountingBackend("moving");
             CountingBackend api = new CountingBackend("api");
             InProcessSluice sluice = InProcessSluice.start(selectorConfig(web, moving, api, "web"), dir, LONG_BAKE)) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 8, "/", "/api/x");
            Await.until(AWAIT, () -> load.responses() > 200, "traffic flowing");

            AdminHttp.Answer answer = sluice.admin().post("/config", selectorConfig(web, moving, api, "web")
                    .replace("select: { app: api }", "select: { app: web }")
                    .replace("path_prefix: /api/", "path_prefix: api"));

            long before = load.responses();
            Await.until(AWAIT, () -> load.responses() > before + 200, "traffic after the refusal");
            load.stop();
            assertThat(answer.status()).isEqualTo(400);
            JsonNode json = answer.json();
            assertThat(json.path("applied").asBoolean()).isFalse();
            assertThat(json.path("reason").asText()).isEqualTo("invalid config; version 1 keeps serving");
            assertThat(json.path("errors")).extracting(JsonNode::toString).hasSize(2);
            assertThat(json.path("errors").get(0).path("text").asText()).isEqualTo(
                    "<POST /config>:8:27: routes[0].match.path_prefix: 'api' must start with '/'");
            assertThat(json.path("errors").get(0).path("line").asInt()).isEqualTo(8);
            assertThat(json.path("errors").get(0).path("column").asInt()).isEqualTo(27);
            assertThat(json.path("errors").get(1).path("message").asText())
                    .startsWith("endpoints '%s', '%s' belong to both cluster 'web'".formatted(web.address(), moving.address()));
            assertThat(load.failures()).isEmpty();
            assertThat(load.non200()).isEmpty();
            JsonNode versions = sluice.admin().get("/config/versions").json();
            assertThat(versions.path("current").asInt()).isEqualTo(1);
            assertThat(versions.path("refused")).singleElement()
                    .satisfies(r -> assertThat(r.path("source").asText()).isEqualTo("POST /config"));
        }
    }

    @Test
    void aReloadOfAnUnchangedFileKeepsTheRunningVersion() throws Exception {
        try (CountingBackend web = new CountingBackend("web");
             CountingBackend moving = new CountingBackend("moving");
             CountingBackend api = new CountingBackend("api");
             InProcessSluice sluice = InProcessSluice.start(selectorConfig(web, moving, api, "web"), dir, LONG_BAKE)) {
            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.json().path("unchanged").asBoolean()).isTrue();
            assertThat(answer.json().path("version").asInt()).isEqualTo(1);
        }
    }

    private static String listeners(CountingBackend backend, String... listeners) {
        StringBuilder yaml = new StringBuilder("listeners:\n");
        for (String l : listeners) {
            yaml.append("  - ").append(l).append('\n');
        }
        return yaml + """
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                """.formatted(backend.address());
    }

    @Test
    void aNewListenerOpensAndAnUnchangedOneKeepsItsConnections() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(listeners(backend, "{ name: a, address: 127.0.0.1:0 }"),
                     dir, LONG_BAKE);
             RawHttpClient kept = RawHttpClient.connect(sluice.listener())) {
            assertThat(get(kept).status()).isEqualTo(200);

            sluice.writeConfig(listeners(backend, "{ name: a, address: 127.0.0.1:0 }", "{ name: b, address: 127.0.0.1:0 }"));
            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().path("listeners").path("added").get(0).asText()).startsWith("b (");
            assertThat(sluice.instance().listenerAddresses()).hasSize(2);
            try (RawHttpClient fresh = RawHttpClient.connect(sluice.listener(1))) {
                assertThat(get(fresh).status()).isEqualTo(200);
            }
            assertThat(get(kept).status()).as("same connection, same listener").isEqualTo(200);
        }
    }

    @Test
    void aRemovedListenerStopsAcceptingAndItsIdleConnectionsAreClosed() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(listeners(backend, "{ name: a, address: 127.0.0.1:0 }",
                     "{ name: b, address: 127.0.0.1:0 }"), dir, LONG_BAKE);
             RawHttpClient onB = RawHttpClient.connect(sluice.listener(1))) {
            InetSocketAddress b = sluice.listener(1);
            assertThat(get(onB).status()).isEqualTo(200);

            sluice.writeConfig(listeners(backend, "{ name: a, address: 127.0.0.1:0 }"));
            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().path("listeners").path("removed").get(0).asText()).startsWith("b (");
            onB.awaitClosed(AWAIT);
            assertThat(canConnect(b)).isFalse();
            try (RawHttpClient onA = RawHttpClient.connect(sluice.listener(0))) {
                assertThat(get(onA).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aListenerWhoseSettingsChangeIsBoundAnewOnTheSameAddress() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        try (CountingBackend backend = new CountingBackend("app");
             InProcessSluice sluice = InProcessSluice.start(listeners(backend,
                     "{ name: a, address: 127.0.0.1:" + port + " }"), dir, LONG_BAKE)) {
            sluice.writeConfig(listeners(backend, "{ name: a, address: 127.0.0.1:" + port + ", idle_timeout: 700s }"));
            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            assertThat(answer.json().path("listeners").path("removed")).hasSize(1);
            assertThat(answer.json().path("listeners").path("added")).hasSize(1);
            assertThat(sluice.instance().listenerAddresses()).extracting(InetSocketAddress::getPort).containsExactly(port);
            try (RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
                assertThat(get(client).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void aListenerThatCannotBindRefusesTheWholeReload() throws Exception {
        try (CountingBackend backend = new CountingBackend("app");
             ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             InProcessSluice sluice = InProcessSluice.start(listeners(backend, "{ name: a, address: 127.0.0.1:0 }"),
                     dir, LONG_BAKE)) {
            String next = listeners(backend, "{ name: a, address: 127.0.0.1:0 }",
                    "{ name: b, address: 127.0.0.1:" + taken.getLocalPort() + " }")
                    .replace("path_prefix: /", "path_prefix: /only-this/");
            sluice.writeConfig(next);
            AdminHttp.Answer answer = sluice.admin().post("/reload");

            assertThat(answer.status()).isEqualTo(409);
            assertThat(answer.json().path("reason").asText())
                    .startsWith("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .endsWith("; version 1 keeps serving");
            assertThat(sluice.instance().listenerAddresses()).hasSize(1);
            try (RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
                assertThat(get(client).status()).as("routes of version 1 still serve /").isEqualTo(200);
            }
        }
    }

    private static RawResponse get(RawHttpClient client) {
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        return client.readFinalResponse(AWAIT);
    }

    private static boolean canConnect(InetSocketAddress address) {
        try (RawHttpClient ignored = RawHttpClient.connect(address)) {
            return true;
        } catch (java.io.UncheckedIOException e) {
            return false;
        }
    }
}
