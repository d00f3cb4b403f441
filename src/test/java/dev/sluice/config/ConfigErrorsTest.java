package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Each kind of mistake, reported at the exact line and column of the offending key or value. */
class ConfigErrorsTest {

    @Test
    void unknownKeyIsReportedWithItsLineAndColumnAndTheLikelyIntendedKey() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { pathprefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """)).containsExactly("4:14: unknown key 'pathprefix' in routes[0].match (did you mean 'path_prefix'?)");
    }

    @Test
    void unknownKeyWithNothingCloseListsTheAllowedKeys() {
        assertThat(problems(valid() + "colour: blue\n")).containsExactly(
                "9:1: unknown key 'colour' at the top level (allowed: server, listeners, endpoints, routes, clusters, admin, "
                        + "access_log, drain, redis, versions, incidents, alerts, metrics)");
    }

    @Test
    void camelCaseKeyIsMatchedToItsSnakeCaseSpelling() {
        assertThat(problems(valid().replace("  - address: 127.0.0.1:8080", "  - address: 127.0.0.1:8080\n    idleTimeout: 5s")))
                .containsExactly("3:5: unknown key 'idleTimeout' in listeners[0] (did you mean 'idle_timeout'?)");
    }

    @Test
    void missingRequiredKeyIsReportedWhereItsMapStarts() {
        assertThat(problems("""
                listeners:
                  - name: public
                routes:
                  - cluster: app
                clusters:
                  - endpoints: [127.0.0.1:9001]
                """)).containsExactly(
                "2:5: missing required key 'address' in listeners[0]",
                "4:5: missing required key 'match' in routes[0]",
                // True, if a consequence: the only cluster has no name.
                "4:14: route 'route-1' refers to undefined cluster 'app'",
                "6:5: missing required key 'name' in clusters[0]");
    }

    @Test
    void missingTopLevelSectionsAreEachReported() {
        assertThat(problems("admin: { address: 127.0.0.1:9901 }\n")).containsExactly(
                "1:1: missing required key 'listeners' at the top level",
                "1:1: missing required key 'clusters' at the top level",
                "1:1: missing required key 'routes' at the top level");
    }

    @Test
    void wrongTypeNamesWhatWasExpectedAndWhatWasFound() {
        assertThat(problems("""
                listeners:
                  address: 127.0.0.1:8080
                routes:
                  - match: /api
                    cluster: app
                    timeout: [1s]
                clusters:
                  - name: app
                    endpoints: 127.0.0.1:9001
                    max_idle_per_endpoint: "8"
                """)).containsExactly(
                "2:3: listeners: expected a list, got a map; start each item with '- '",
                "4:12: routes[0].match: expected a map, got the string '/api'",
                "6:14: routes[0].timeout: expected a duration like 2s, got a list",
                "9:16: clusters[0].endpoints: expected a list, got the string '127.0.0.1:9001'",
                "10:28: clusters[0].max_idle_per_endpoint: expected a whole number, got the string '8'");
    }

    @Test
    void emptyValueIsAWrongType() {
        assertThat(problems(valid().replace("cluster: app", "cluster:"))).containsExactly(
                "5:13: routes[0].cluster: expected a name, got an empty value");
    }

    @Test
    void badDurationIsReportedAtItsValueWithExamples() {
        assertThat(problems(valid().replace("  - address: 127.0.0.1:8080",
                "  - address: 127.0.0.1:8080\n    idle_timeout: 5 sec\n    header_timeout: 10"))).containsExactly(
                "3:19: listeners[0].idle_timeout: invalid duration '5 sec': use e.g. 250ms, 2s, 5m",
                "4:21: listeners[0].header_timeout: invalid duration '10': missing unit (did you mean '10s'?)");
    }

    @Test
    void badAddressesAreReportedWithTheReason() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1
                  - address: :8080
                  - address: 127.0.0.1:65536
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:0, "::1:80", 10.0.0.300:80]
                admin:
                  address: [fe80::1]
                """)).containsExactly(
                "2:14: listeners[0].address: invalid address '127.0.0.1': missing port; expected host:port, e.g. 127.0.0.1:8080",
                "3:14: listeners[1].address: invalid address ':8080': host is empty (to listen on every interface, write 0.0.0.0:8080)",
                "4:14: listeners[2].address: invalid address '127.0.0.1:65536': port must be a number from 0 to 65535",
                "10:17: clusters[0].endpoints[0]: invalid address '127.0.0.1:0': port must be a number from 1 to 65535",
                "10:30: clusters[0].endpoints[1]: invalid address '::1:80': IPv6 addresses need brackets, e.g. [::1]:8080",
                "10:40: clusters[0].endpoints[2]: invalid address '10.0.0.300:80': '10.0.0.300' is not a valid IPv4 address",
                "12:12: admin.address: expected host:port, got a list; quote IPv6 addresses, e.g. \"[::1]:8080\"");
    }

    @Test
    void undefinedClusterIsReportedAtTheRoutesReferenceWithASuggestion() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: api
                    match: { path_prefix: /api/ }
                    cluster: ap
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """)).containsExactly(
                "6:14: route 'api' refers to undefined cluster 'ap' (did you mean 'app'?)",
                "8:14: route 'route-2' refers to undefined cluster 'web'");
    }

    @Test
    void duplicateNamesPointAtBothDefinitions() {
        assertThat(problems("""
                listeners:
                  - { name: edge, address: 127.0.0.1:8080 }
                  - { name: edge, address: 127.0.0.1:8081 }
                  - address: 127.0.0.1:8080
                routes:
                  - { name: api, match: { path_prefix: /api/ }, cluster: app }
                  - { name: api, match: { path_prefix: / }, cluster: app }
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                  - name: app
                    endpoints: [127.0.0.1:9002, 127.0.0.1:9002]
                """)).containsExactly(
                "3:13: duplicate listener name 'edge' (first defined at 2:13)",
                "4:14: duplicate listener address '127.0.0.1:8080' (first defined at 2:28)",
                "7:13: duplicate route name 'api' (first defined at 6:13)",
                "11:11: duplicate cluster name 'app' (first defined at 9:11)",
                "12:33: clusters[1].endpoints[1]: duplicate endpoint '127.0.0.1:9002' (first listed at 12:17)");
    }

    @Test
    void listenersOnEphemeralPortsNeverClashButStillNeedDistinctNames() {
        assertThat(problems(valid().replace("  - address: 127.0.0.1:8080",
                "  - address: 127.0.0.1:0\n  - address: 127.0.0.1:0"))).containsExactly(
                "3:14: duplicate listener name '127.0.0.1:0' (first defined at 2:14); give each listener its own 'name'");
    }

    @Test
    void adminMayNotShareAListenersAddress() {
        assertThat(problems(valid() + "admin: { address: 127.0.0.1:8080 }\n")).containsExactly(
                "9:19: admin.address: '127.0.0.1:8080' is already the address of the listener defined at 2:14");
    }

    @Test
    void duplicateYamlKeyIsAnError() {
        assertThat(problems(valid().replace("    cluster: app", "    cluster: app\n    cluster: web"))).containsExactly(
                "6:5: duplicate key 'cluster' in routes[0] (first at 5:5)");
    }

    @Test
    void pathAndPathPrefixTogetherAreAmbiguous() {
        assertThat(problems(valid().replace("{ path_prefix: / }", "{ path_prefix: /, path: /x }"))).containsExactly(
                "4:30: routes[0].match: use either 'path' (exact) or 'path_prefix', not both");
    }

    @Test
    void matchValuesAreValidated() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match:
                      host: "example.com:8080"
                      path_prefix: api
                      methods: [GET, "GE T"]
                      headers: { "x bad": 1, X-A: a, x-a: b }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """)).containsExactly(
                "5:13: routes[0].match.host: 'example.com:8080' must not include a port; hosts are compared without it",
                "6:20: routes[0].match.path_prefix: 'api' must start with '/'",
                "7:22: routes[0].match.methods[1]: 'GE T' is not a valid HTTP method",
                "8:18: routes[0].match.headers.x bad: 'x bad' is not a valid header name",
                "8:38: duplicate header 'x-a' in routes[0].match.headers (first at 8:30; header names ignore case)");
    }

    @Test
    void wildcardHostIsOnlyALeadingLabel() {
        assertThat(problems(valid().replace("{ path_prefix: / }", "{ host: \"api.*.com\" }"))).containsExactly(
                "4:20: routes[0].match.host: 'api.*.com': '*' is only allowed as a leading '*.', e.g. *.example.com");
    }

    @Test
    void numbersOutOfRangeAreReported() {
        assertThat(problems("""
                server: { event_loop_threads: -1 }
                listeners:
                  - { address: 127.0.0.1:8080, max_headers: 0, max_header_size: 64KB, max_request_line: 0 }
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - { name: app, endpoints: [127.0.0.1:9001], max_idle_per_endpoint: -1, load_balancer: round-robin }
                """)).containsExactly(
                "1:31: server.event_loop_threads: -1 is out of range; it must be 0 or more",
                "3:45: listeners[0].max_headers: 0 is out of range; it must be at least 1",
                "3:65: listeners[0].max_header_size: invalid size '64KB': use a number of bytes, or KiB or MiB, e.g. 65536 or 64KiB",
                "3:89: listeners[0].max_request_line: 0 is out of range; it must be at least 1",
                "8:70: clusters[0].max_idle_per_endpoint: -1 is out of range; it must be 0 or more",
                "8:89: clusters[0].load_balancer: unknown load balancer 'round-robin' (did you mean 'round_robin'?)");
    }

    @Test
    void badTrustedProxyIsReportedPerEntry() {
        assertThat(problems(valid().replace("  - address: 127.0.0.1:8080",
                "  - address: 127.0.0.1:8080\n    trusted_proxies: [10.0.0.1/8, 10.0.0.0/33, bogus]"))).containsExactly(
                "3:23: listeners[0].trusted_proxies[0]: invalid CIDR '10.0.0.1/8': host bits are set (did you mean '10.0.0.0/8'?)",
                "3:35: listeners[0].trusted_proxies[1]: invalid CIDR '10.0.0.0/33': prefix length must be a number from 0 to 32",
                "3:48: listeners[0].trusted_proxies[2]: invalid CIDR 'bogus': 'bogus' is not an IP address");
    }

    @Test
    void badAccessLogSettingsAreReported() {
        assertThat(problems(valid() + "access_log: { enabled: maybe, file: x.log }\n")).containsExactly(
                "9:24: access_log.enabled: expected true or false, got the string 'maybe'",
                "9:31: unknown key 'file' in access_log (allowed: enabled, path, redact_query)");
        assertThat(problems(valid() + "access_log: stderr\n")).containsExactly(
                "9:13: access_log: expected false, off, or a map with 'path', got the string 'stderr'");
    }

    @Test
    void concurrencyLimitMustBeAdaptiveOffOrAPositiveNumber() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: a
                clusters:
                  - { name: a, endpoints: [127.0.0.1:9001], concurrency: { limit: adaptiv } }
                  - { name: b, endpoints: [127.0.0.1:9002], concurrency: { limit: 0 } }
                  - { name: c, endpoints: [127.0.0.1:9003], concurrency: { limit: -5 } }
                  - { name: d, endpoints: [127.0.0.1:9004], concurrency: { limit: 2.5 } }
                  - { name: e, endpoints: [127.0.0.1:9005], concurrency: { limit: "50" } }
                  - { name: f, endpoints: [127.0.0.1:9006], concurrency: { limit: on } }
                  - { name: g, endpoints: [127.0.0.1:9007], concurrency: { limit: [50] } }
                  - { name: h, endpoints: [127.0.0.1:9008], concurrency: { limit: } }
                  - { name: i, endpoints: [127.0.0.1:9009], concurrency: { limit: 0x10 } }
                """)).containsExactly(
                "7:67: clusters[0].concurrency.limit: expected adaptive, off or a positive number, "
                        + "got the string 'adaptiv' (did you mean 'adaptive'?)",
                "8:67: clusters[1].concurrency.limit: expected adaptive, off or a positive number, "
                        + "got the number 0 (for no limit, write 'off')",
                "9:67: clusters[2].concurrency.limit: expected adaptive, off or a positive number, got the number -5",
                "10:67: clusters[3].concurrency.limit: expected adaptive, off or a positive number, got the number 2.5",
                "11:67: clusters[4].concurrency.limit: expected adaptive, off or a positive number, got the string '50'",
                "12:67: clusters[5].concurrency.limit: expected adaptive, off or a positive number, got the boolean on",
                "13:67: clusters[6].concurrency.limit: expected adaptive, off or a positive number, got a list",
                "14:66: clusters[7].concurrency.limit: expected adaptive, off or a positive number, got an empty value",
                "15:67: clusters[8].concurrency.limit: write '0x10' as a plain decimal number");
    }

    @Test
    void concurrencyMaxQueueAndQueueTimeoutAreReportedAtTheirValues() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: a
                clusters:
                  - name: a
                    endpoints: [127.0.0.1:9001]
                    concurrency:
                      max: 0
                      queue: -1
                      queue_timeout: 0s
                  - name: b
                    endpoints: [127.0.0.1:9002]
                    concurrency: { limit: 100, max: 50, queue_timeout: 500 }
                  - name: c
                    endpoints: [127.0.0.1:9003]
                    concurrency: { queue_timout: 2s, queue: many }
                  - name: d
                    endpoints: [127.0.0.1:9004]
                    concurrency: off
                """)).containsExactly(
                "10:12: clusters[0].concurrency.max: 0 is out of range; it must be at least 1",
                "11:14: clusters[0].concurrency.queue: -1 is out of range; it must be 0 or more",
                "12:22: clusters[0].concurrency.queue_timeout: invalid duration '0s': must be greater than zero",
                "15:37: clusters[1].concurrency.max: 50 is below the fixed limit 100; max must be at least the limit",
                "15:56: clusters[1].concurrency.queue_timeout: invalid duration '500': missing unit (did you mean '500s'?)",
                "18:20: unknown key 'queue_timout' in clusters[2].concurrency (did you mean 'queue_timeout'?)",
                "18:45: clusters[2].concurrency.queue: expected a whole number, got the string 'many'",
                "21:18: clusters[3].concurrency: expected a map, got the boolean off");
    }

    @Test
    void endpointMapNeedsAnAddressAndStringLabels() {
        assertThat(problems(valid().replace("endpoints: [127.0.0.1:9001]", """
                endpoints:
                      - { labels: { zone: a } }
                      - { address: 127.0.0.1:9002, labels: { zone: [a, b] }, weight: 2 }""")))
                .containsExactly(
                        "9:9: missing required key 'address' in clusters[0].endpoints[0]",
                        "10:52: clusters[0].endpoints[1].labels.zone: expected a label value, got a list");
    }

    @Test
    void aRedactedQueryParameterMustBeAName() {
        int line = valid().split("\n", -1).length;
        assertThat(problems(valid() + "access_log: { redact_query: [token, \"a=b\", \"\"] }\n")).containsExactly(
                line + ":37: access_log.redact_query[1]: 'a=b' is not a query parameter name"
                        + " (no '&', '=', '?', '#' or spaces)",
                line + ":44: access_log.redact_query[2]: expected a query parameter name, got an empty value");
    }

    @Test
    void yamlAliasesAreRefusedRatherThanReadAsTheirName() {
        assertThat(problems(valid().replace("cluster: app", "cluster: *app"))).containsExactly(
                "5:14: routes[0].cluster: YAML aliases (*app) are not supported; write the value out");
    }

    @Test
    void severalErrorsInOneFileAreAllReportedInFileOrder() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:80800
                    idle_timout: 5s
                routes:
                  - match: { path: health }
                    cluster: ap
                    timeout: 0s
                clusters:
                  - name: app
                    endpoints: []
                    connect_timeout: -1s
                """)).containsExactly(
                "2:14: listeners[0].address: invalid address '127.0.0.1:80800': port must be a number from 0 to 65535",
                "3:5: unknown key 'idle_timout' in listeners[0] (did you mean 'idle_timeout'?)",
                "5:20: routes[0].match.path: 'health' must start with '/'",
                "6:14: route 'route-1' refers to undefined cluster 'ap' (did you mean 'app'?)",
                "7:14: routes[0].timeout: invalid duration '0s': must be greater than zero",
                "10:16: clusters[0].endpoints: at least one endpoint is required",
                "11:22: clusters[0].connect_timeout: invalid duration '-1s': must be positive");
    }

    /** A valid config whose lines tests edit; the line numbers in the assertions count from it. */
    private static String valid() {
        return ConfigTesting.MINIMAL;
    }
}
