package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code admin:}: loopback by default; beyond it only with a token, which may be kept in a file of its own. */
class AdminConfigTest {
    private static final String BASE = ConfigTesting.MINIMAL;
    private static final String TOKEN = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path dir;

    @Test
    void loopbackNeedsNoTokenAndMayHaveOne() throws ConfigException {
        assertThat(ConfigLoader.parse(BASE + "admin: { address: 127.0.0.1:9901 }\n", "x.yaml").admin().orElseThrow()
                .token()).isEmpty();
        AdminConfig withToken = ConfigLoader.parse(BASE + "admin: { address: \"[::1]:9901\", token: " + TOKEN + " }\n",
                "x.yaml").admin().orElseThrow();
        assertThat(withToken.token()).hasValueSatisfying(t -> assertThat(t.matches(TOKEN)).isTrue());
        assertThat(withToken.toString()).doesNotContain(TOKEN);
    }

    @Test
    void anAddressBeyondLoopbackWithoutATokenIsAnErrorAtTheAddress() {
        assertThat(problems(BASE + "admin:\n  address: 0.0.0.0:9901\n")).containsExactly(
                "10:12: admin.address: '0.0.0.0:9901' is not a loopback address, so the admin API needs a token: add "
                        + "admin.token_file (a file holding it, e.g. made with `openssl rand -hex 32`), or bind 127.0.0.1");
        assertThat(problems(BASE + "admin: { address: admin.internal:9901 }\n")).hasSize(1);
        assertThat(problems(BASE + "admin: { address: \"[::]:9901\" }\n")).hasSize(1);
    }

    @Test
    void theTokenIsReadFromAnAbsoluteTokenFileWithoutItsLineEnd() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, TOKEN + "\n");

        AdminConfig admin = ConfigLoader.parse(BASE + "admin: { address: 0.0.0.0:9901, token_file: " + file + " }\n",
                "x.yaml").admin().orElseThrow();

        assertThat(admin.token()).hasValueSatisfying(t -> {
            assertThat(t.matches(TOKEN)).isTrue();
            assertThat(t.matches(TOKEN + "x")).isFalse();
            assertThat(t.authorization()).isEqualTo("Bearer " + TOKEN);
        });
    }

    @Test
    void aTokenFileEveryUserCanReadIsWarnedAbout() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, TOKEN);
        String yaml = BASE + "admin: { address: 0.0.0.0:9901, token_file: " + file + " }\n";

        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        java.util.List<ConfigWarning> open = ConfigLoader.parseWithWarnings(yaml, "x.yaml").warnings();
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        java.util.List<ConfigWarning> closed = ConfigLoader.parseWithWarnings(yaml, "x.yaml").warnings();

        assertThat(open).singleElement().asString().startsWith("x.yaml:9:45: warning: admin.token_file: '" + file
                + "' can be read by every user of this host; chmod 600 it");
        assertThat(closed).isEmpty();
    }

    @Test
    void aTokenFileThatCannotGiveATokenIsAnErrorAtItsPath() throws Exception {
        Path shortOne = dir.resolve("short");
        Files.writeString(shortOne, "secret\n");

        assertThat(problems(BASE + "admin: { address: 0.0.0.0:9901, token_file: " + dir.resolve("none") + " }\n"))
                .singleElement().asString().startsWith("9:45: admin.token_file: cannot read").endsWith("file not found");
        assertThat(problems(BASE + "admin: { address: 0.0.0.0:9901, token_file: " + shortOne + " }\n"))
                .singleElement().asString().contains("does not hold a usable token: a token needs at least 16 characters");
        assertThat(problems(BASE + "admin: { address: 0.0.0.0:9901, token_file: admin-token }\n"))
                .containsExactly("9:45: admin.token_file: 'admin-token' must be an absolute path");
        assertThat(problems(BASE + "admin: { address: 127.0.0.1:9901, token: \"a token with spaces!\" }\n"))
                .singleElement().asString().contains("admin.token: a token may hold only letters");
        assertThat(problems(BASE + "admin: { address: 127.0.0.1:9901, token: " + TOKEN + ", token_file: /x }\n"))
                .singleElement().asString().contains("either 'token' or 'token_file', not both");
    }
}
