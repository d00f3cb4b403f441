package dev.sluice.access;

import static dev.sluice.access.PasswordHashing.basic;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AccessConfig;
import dev.sluice.config.BasicAuthConfig;
import dev.sluice.config.PasswordHashConfig;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What basic auth reads of an Authorization header on the loop, and what its slow check remembers. */
class BasicAuthTest {
    private static final BasicAuthConfig CONFIG = new BasicAuthConfig("Staff", "/etc/users", List.of(
            new BasicAuthConfig.User("alice", new PasswordHashConfig.Bcrypt(PasswordHashing.bcrypt("wonderland")))),
            false);

    @Test
    void noHeaderAnotherSchemeOrUndecodableCredentialsAreMissing() {
        BasicAuth auth = new BasicAuth(CONFIG);
        assertThat(auth.read(null)).isEqualTo(BasicAuth.Credentials.Missing.INSTANCE);
        assertThat(auth.read("Bearer abc")).isEqualTo(BasicAuth.Credentials.Missing.INSTANCE);
        assertThat(auth.read("Basic !!!!")).isEqualTo(BasicAuth.Credentials.Missing.INSTANCE);
        assertThat(auth.read("Basic YWxpY2U=")).as("no colon: 'alice'").isEqualTo(BasicAuth.Credentials.Missing.INSTANCE);
        assertThat(auth.read("Basic " + "A".repeat(5000))).isEqualTo(BasicAuth.Credentials.Missing.INSTANCE);
    }

    @Test
    void rightCredentialsAreRememberedSoTheNextRequestNeedsNoCheck() {
        BasicAuth auth = new BasicAuth(CONFIG);
        String header = basic("alice", "wonderland");
        BasicAuth.Credentials first = auth.read(header);
        assertThat(first).isInstanceOfSatisfying(BasicAuth.Credentials.Unchecked.class,
                u -> assertThat(auth.verify(u)).isTrue());
        // The scheme is case-insensitive (RFC 9110 §11.1).
        assertThat(auth.read(header.replace("Basic", "basic"))).isEqualTo(new BasicAuth.Credentials.Known("alice"));
        assertThat(auth.remembered()).isEqualTo(1);
    }

    @Test
    void wrongCredentialsAreNotRemembered() {
        BasicAuth auth = new BasicAuth(CONFIG);
        var wrong = (BasicAuth.Credentials.Unchecked) auth.read(basic("alice", "looking-glass"));
        assertThat(auth.verify(wrong)).isFalse();
        assertThat(auth.read(basic("alice", "looking-glass"))).isInstanceOf(BasicAuth.Credentials.Unchecked.class);
        assertThat(auth.remembered()).isZero();
    }

    @Test
    void anUnknownUserIsCheckedAgainstAHashAnywayAndRefusedEvenWithThatHashsPassword() {
        BasicAuth auth = new BasicAuth(CONFIG);
        var unknown = (BasicAuth.Credentials.Unchecked) auth.read(basic("mallory", "wonderland"));
        assertThat(unknown.knownUser()).isFalse();
        assertThat(unknown.hash()).as("the decoy: the file's first hash").isEqualTo(CONFIG.users().get(0).hash());
        assertThat(auth.verify(unknown)).isFalse();
    }

    @Test
    void theChallengeNamesTheRealmAndUtf8() {
        assertThat(new BasicAuth(CONFIG).challenge()).isEqualTo("Basic realm=\"Staff\", charset=\"UTF-8\"");
    }

    @Test
    void argon2idHashesAreCheckedToo() {
        BasicAuth auth = new BasicAuth(new BasicAuthConfig("r", "/f", List.of(new BasicAuthConfig.User("bob",
                argon2(PasswordHashing.argon2id("builder")))), false));
        assertThat(auth.verify((BasicAuth.Credentials.Unchecked) auth.read(basic("bob", "builder")))).isTrue();
        assertThat(auth.verify((BasicAuth.Credentials.Unchecked) auth.read(basic("bob", "Builder")))).isFalse();
    }

    @Test
    void aReloadWithTheSameUsersKeepsWhatIsRememberedAndAChangedFileForgetsIt() {
        AccessConfig config = new AccessConfig(List.of(), List.of(), Optional.of(CONFIG), Optional.empty());
        AccessRules before = AccessRules.of(config, null);
        assertThat(AccessRules.of(config, before).basicAuth()).isSameAs(before.basicAuth());
        BasicAuthConfig changed = new BasicAuthConfig("Staff", "/etc/users", List.of(new BasicAuthConfig.User("alice",
                new PasswordHashConfig.Bcrypt(PasswordHashing.bcrypt("other")))), false);
        AccessConfig reloaded = new AccessConfig(List.of(), List.of(), Optional.of(changed), Optional.empty());
        assertThat(AccessRules.of(reloaded, before).basicAuth()).isNotSameAs(before.basicAuth());
    }

    /** The record the config loader makes of an argon2id line. */
    static PasswordHashConfig.Argon2id argon2(String text) {
        String[] parts = text.split("\\$");
        return new PasswordHashConfig.Argon2id(text, 0x13, 64, 1, 1, java.util.Base64.getDecoder().decode(parts[4]),
                java.util.Base64.getDecoder().decode(parts[5]));
    }
}
