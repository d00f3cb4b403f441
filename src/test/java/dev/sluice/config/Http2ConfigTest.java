package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code listeners[].http2}: on by default (ALPN on TLS listeners), off with {@code false}, its limits, and h2c's place. */
class Http2ConfigTest {
    @TempDir
    Path dir;
    String tls;

    @BeforeEach
    void certificate() throws Exception {
        TestCertificates.authority().issue("h2.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        tls = "{ cert: " + dir.resolve("cert.pem") + ", key: " + dir.resolve("key.pem") + " }";
    }

    static String config(String listenerKeys) {
        return """
                listeners:
                  - address: 127.0.0.1:8443
                %s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """.formatted(listenerKeys.indent(4).stripTrailing());
    }

    @Test
    void http2IsOfferedByDefaultWithEveryLimitAtItsDefault() throws Exception {
        ListenerConfig listener = ConfigLoader.parse(config("tls: " + tls), "x.yaml").listeners().get(0);
        assertThat(listener.http2()).isEqualTo(Http2Config.DEFAULT);
        assertThat(listener.http2().enabled()).isTrue();
        assertThat(listener.http2().cleartext()).isFalse();
        assertThat(listener.http2().maxConcurrentStreams()).isEqualTo(100);
        assertThat(listener.http2().maxResets()).isEqualTo(200);
        assertThat(listener.http2().resetWindow()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void falseTurnsItOffAndAMapSetsItsLimits() throws Exception {
        assertThat(ConfigLoader.parse(config("tls: " + tls + "\nhttp2: false"), "x.yaml").listeners().get(0).http2())
                .isEqualTo(Http2Config.OFF);
        Http2Config limits = ConfigLoader.parse(config("""
                http2:
                  h2c: true
                  max_concurrent_streams: 50
                  max_header_list_size: 16KiB
                  header_table_size: 0
                  max_small_continuation_frames: 4
                  max_resets: 20
                  reset_window: 10s"""), "x.yaml").listeners().get(0).http2();
        assertThat(limits).isEqualTo(new Http2Config(true, true, 50, 16 * 1024, 0, 4, 20, Duration.ofSeconds(10)));
    }

    @Test
    void h2cOnATlsListenerAndBadLimitsAreRefusedWhereWritten() {
        assertThat(problems(config("tls: " + tls + "\nhttp2: { h2c: true }")))
                .containsExactly("4:19: listeners[0].http2.h2c: h2c is HTTP/2 without TLS; a TLS listener "
                        + "offers h2 by ALPN already, so leave h2c to a cleartext listener");
        assertThat(problems(config("http2: { max_concurrent_streams: 0, reset_window: 100ms, max_stream: 3 }")))
                .anySatisfy(p -> assertThat(p).contains("listeners[0].http2.max_concurrent_streams: 0 is out of range"))
                .anySatisfy(p -> assertThat(p).contains("listeners[0].http2.reset_window: 100ms is below 1s"))
                .anySatisfy(p -> assertThat(p).contains("unknown key 'max_stream'"));
        assertThat(problems(config("http2: sometimes")))
                .singleElement().asString().contains("listeners[0].http2: expected true or false");
    }
}
