package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.access.PasswordHashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** routes[]' allow_ips, deny_ips, basic_auth and cors: what they bind to, and each mistake located. */
class AccessConfigTest {
    @TempDir
    Path dir;

    /** One route (lines 3 on) after the listener, with a cluster 'app' defined after it. */
    private static String route(String route) {
        return "listeners:\n  - address: 127.0.0.1:8080\nroutes:\n" + route.indent(2)
                + "clusters:\n  - name: app\n    endpoints: [127.0.0.1:9001]\n";
    }

    private static RouteConfig bound(String route) throws ConfigException {
        return ConfigLoader.parse(route(route), "test.yaml").routes().get(0);
    }

    private Path usersFile(String... lines) throws Exception {
        Path file = dir.resolve("users");
        Files.writeString(file, String.join("\n", lines) + "\n");
        return file;
    }

    @Test
    void aRouteWithoutAccessRulesIsOpen() throws Exception {
        assertThat(bound("- match: {}\n  cluster: app\n").access()).isEqualTo(AccessConfig.OPEN);
    }

    @Test
    void everyRuleBindsToItsRecord() throws Exception {
        String bcrypt = PasswordHashing.bcrypt("secret");
        String argon2 = PasswordHashing.argon2id("hunter2");
        Path users = usersFile("# staff", "alice:" + bcrypt, "", "bob:" + argon2);
        AccessConfig access = bound("""
                - match: {}
                  cluster: app
                  allow_ips: [10.0.0.0/8, "2001:db8::/32", 192.0.2.1]
                  deny_ips: [10.0.0.13]
                  basic_auth: { users_file: %s, realm: Staff only }
                  cors:
                    origins: [https://App.Example.com, "https://*.example.org"]
                    methods: [get, PUT]
                    headers: [Content-Type]
                    expose: [x-request-id]
                    credentials: true
                    max_age: 1m
                """.formatted(users)).access();
        assertThat(access.allowIps()).containsExactly("10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32");
        assertThat(access.denyIps()).containsExactly("10.0.0.13/32");
        BasicAuthConfig auth = access.basicAuth().orElseThrow();
        assertThat(auth.realm()).isEqualTo("Staff only");
        assertThat(auth.passAuthorization()).isFalse();
        assertThat(auth.users()).extracting(BasicAuthConfig.User::name).containsExactly("alice", "bob");
        assertThat(auth.users().get(0).hash()).isEqualTo(new PasswordHashConfig.Bcrypt(bcrypt));
        assertThat(auth.users().get(1).hash()).isInstanceOfSatisfying(PasswordHashConfig.Argon2id.class, a -> {
            assertThat(a.memoryKiB()).isEqualTo(64);
            assertThat(a.version()).isEqualTo(0x13);
        });
        CorsConfig cors = access.cors().orElseThrow();
        assertThat(cors.origins()).containsExactly("https://app.example.com", "https://*.example.org");
        assertThat(cors.methods()).containsExactly("GET", "PUT");
        assertThat(cors.headers()).containsExactly("content-type");
        assertThat(cors.credentials()).isTrue();
        assertThat(cors.maxAge()).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void corsDefaultsAreTheSafelistedMethodsNoCredentialsAndFiveMinutes() throws Exception {
        CorsConfig cors = bound("- match: {}\n  cluster: app\n  cors: { origins: \"*\" }\n").access().cors().orElseThrow();
        assertThat(cors.anyOrigin()).isTrue();
        assertThat(cors.methods()).containsExactly("GET", "HEAD", "POST");
        assertThat(cors.credentials()).isFalse();
        assertThat(cors.maxAge()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aBadCidrIsLocated() {
        assertThat(problems(route("- match: {}\n  cluster: app\n  allow_ips: [10.0.0.1/8]\n  deny_ips: [\"2001:db8::/200\"]\n")))
                .containsExactly(
                        "6:17: routes[0].allow_ips[0]: invalid CIDR '10.0.0.1/8': host bits are set (did you mean '10.0.0.0/8'?)",
                        "7:16: routes[0].deny_ips[0]: invalid CIDR '2001:db8::/200': prefix length must be a number from 0 to 128");
    }

    @Test
    void anUnreadableOrRelativeUsersFileIsLocated() {
        Path missing = dir.resolve("nobody-here");
        assertThat(problems(route("- match: {}\n  cluster: app\n  basic_auth: { users_file: " + missing + " }\n")))
                .containsExactly("6:31: routes[0].basic_auth.users_file: cannot read '" + missing + "': file not found");
        assertThat(problems(route("- match: {}\n  cluster: app\n  basic_auth: { users_file: users.txt }\n")))
                .containsExactly("6:31: routes[0].basic_auth.users_file: 'users.txt' must be an absolute path");
    }

    @Test
    void aBadLineOfTheUsersFileIsLocatedByTheKeyAndItsLine() throws Exception {
        Path users = usersFile("alice:" + PasswordHashing.bcrypt("x"), "carol:$apr1$abc$def", "nocolon",
                "alice:" + PasswordHashing.bcrypt("y"), "dave:$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA");
        List<String> found = problems(route("- match: {}\n  cluster: app\n  basic_auth: { users_file: " + users + " }\n"));
        String at = "6:31: routes[0].basic_auth.users_file: '" + users + "' line ";
        assertThat(found).containsExactly(
                at + "2: user 'carol': unsupported hash; use bcrypt (htpasswd -B) or argon2id",
                at + "3: expected name:hash",
                at + "4: user 'alice' again (first on line 1)",
                at + "5: user 'dave': only argon2id is supported of the argon2 hashes (argon2i and argon2d are weaker)");
    }

    @Test
    void aUsersFileWithoutUsersIsAnError() throws Exception {
        Path users = usersFile("# nobody yet");
        assertThat(problems(route("- match: {}\n  cluster: app\n  basic_auth: { users_file: " + users + " }\n")))
                .containsExactly("6:31: routes[0].basic_auth.users_file: '" + users
                        + "' has no users (lines of name:hash), so no one could log in");
    }

    @Test
    void anyOriginWithCredentialsIsLocatedAtCredentials() {
        assertThat(problems(route("- match: {}\n  cluster: app\n  cors:\n    origins: \"*\"\n    credentials: true\n")))
                .containsExactly("8:7: routes[0].cors.credentials: not with origins: \"*\" (browsers refuse it, and "
                        + "allowing every origin with the user's cookies lets any site act as the user); list the origins");
    }

    @Test
    void anOriginWithAPathOrNoSchemeIsLocated() {
        assertThat(problems(route("- match: {}\n  cluster: app\n  cors: { origins: [https://a.example/, app.example] }\n")))
                .containsExactly(
                        "6:23: routes[0].cors.origins[0]: 'https://a.example/' is not an origin (scheme://host[:port], "
                                + "no path; 'https://*.example.com' for its subdomains)",
                        "6:43: routes[0].cors.origins[1]: 'app.example' is not an origin (scheme://host[:port], "
                                + "no path; 'https://*.example.com' for its subdomains)");
    }

    @Test
    void accessRulesAreAllowedOnARouteThatAnswersByItself() throws Exception {
        RouteConfig r = bound("- match: { path: /status }\n  respond: { body: ok }\n  allow_ips: [127.0.0.1]\n");
        assertThat(r.access().allowIps()).containsExactly("127.0.0.1/32");
    }
}
