package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** routes[].mirror and routes[].record: each key's default, every key bound, and each mistake located. */
class TapConfigTest {

    /** One route (lines 3 on) after the listener, with clusters 'app' and 'staging' after it. */
    private static String route(String route) {
        return "listeners:\n  - address: 127.0.0.1:8080\nroutes:\n" + route.indent(2)
                + "clusters:\n  - name: app\n    endpoints: [127.0.0.1:9001]\n"
                + "  - name: staging\n    endpoints: [127.0.0.1:9002]\n";
    }

    private static RouteConfig parse(String keys) throws ConfigException {
        return ConfigLoader.parse(route("- match: { path_prefix: / }\n  cluster: app\n" + keys), "test.yaml")
                .routes().get(0);
    }

    @Test
    void aRouteNeitherMirrorsNorRecordsUnlessAskedTo() throws Exception {
        RouteConfig r = parse("");
        assertThat(r.mirror()).isEmpty();
        assertThat(r.record()).isEmpty();
    }

    @Test
    void aMirrorNeedsOnlyItsCluster() throws Exception {
        assertThat(parse("  mirror: { cluster: staging }\n").mirror()).contains(MirrorConfig.of("staging"));
        MirrorConfig defaults = MirrorConfig.of("staging");
        assertThat(defaults.fraction()).isEqualTo(1.0);
        assertThat(defaults.maxBody()).isEqualTo(1024 * 1024);
        assertThat(defaults.hostSuffix()).isEqualTo("-shadow");
        assertThat(defaults.maxInFlight()).isEqualTo(64);
        assertThat(defaults.timeout()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void everyMirrorKeyBindsToItsRecord() throws Exception {
        assertThat(parse("  mirror: { cluster: staging, fraction: 0.1, max_body: 64KiB, host_suffix: .shadow, "
                + "max_in_flight: 8, timeout: 2s }\n").mirror())
                .contains(new MirrorConfig("staging", 0.1, 65536, ".shadow", 8, Duration.ofSeconds(2)));
    }

    @Test
    void aRecordingNeedsOnlyItsDirectory() throws Exception {
        RecordConfig r = parse("  record: { path: /tmp/rec }\n").record().orElseThrow();
        assertThat(r).isEqualTo(RecordConfig.of(Path.of("/tmp/rec")));
        assertThat(r.fraction()).isEqualTo(0.01);
        assertThat(r.maxBody()).isEqualTo(64 * 1024);
        assertThat(r.redact()).containsExactly("authorization", "proxy-authorization", "cookie", "set-cookie");
        assertThat(r.rotateSize()).isEqualTo(64L * 1024 * 1024);
        assertThat(r.rotateKeep()).isEqualTo(10);
    }

    @Test
    void everyRecordKeyBindsToItsRecord() throws Exception {
        assertThat(parse("  record: { path: /tmp/rec, fraction: 1, max_body: 1KiB, redact: [Authorization, X-Api-Key], "
                + "rotate: { size: 1MiB, keep: 3 } }\n").record())
                .contains(new RecordConfig(Path.of("/tmp/rec"), 1.0, 1024, List.of("authorization", "x-api-key"),
                        1024 * 1024, 3));
    }

    @Test
    void mistakesAreLocated() {
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  mirror: { cluster: stagin, fraction: 1.5 }\n")))
                .containsExactly("6:24: routes[0].mirror.cluster: undefined cluster 'stagin' (did you mean 'staging'?)",
                        "6:42: routes[0].mirror.fraction: 1.5 is out of range; it must be from 0 to 1");
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  mirror: { cluster: app, host_suffix: \"a b\" }\n")))
                .containsExactly("6:24: routes[0].mirror.cluster: 'app' is the route's own cluster; a mirror copies "
                                + "traffic to another one (a staging cluster)",
                        "6:42: routes[0].mirror.host_suffix: 'a b' must hold only letters, digits, '-' and '.': it goes into the Host");
        assertThat(problems(route("- match: { path_prefix: / }\n  cluster: app\n  record: { fraction: 0.1, redact: [\"bad name\"], rotate: { keep: 0 } }\n")))
                .containsExactly("6:13: missing required key 'path' in routes[0].record",
                        "6:39: routes[0].record.redact[0]: 'bad name' is not a field name",
                        "6:68: routes[0].record.rotate.keep: 0 is out of range; it must be between 1 and 10000");
        assertThat(problems(route("- match: { path_prefix: / }\n  redirect: { to: /x }\n  mirror: { cluster: staging }\n")))
                .containsExactly("6:5: routes[0].mirror: only for a route with a cluster; this route answers by itself ('redirect')");
    }
}
