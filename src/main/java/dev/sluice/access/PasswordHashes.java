package dev.sluice.access;

import dev.sluice.config.PasswordHashConfig;
import java.util.Arrays;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Checks a password against a users file's hash, with BouncyCastle's bcrypt and argon2id. Slow on
 * purpose (milliseconds to tens of them): called only on {@link PasswordChecks}' threads, never on
 * an event loop.
 */
final class PasswordHashes {
    /** bcrypt reads 72 bytes of a password at most; htpasswd and OpenBSD ignore the rest, and so does this. */
    private static final int BCRYPT_MAX_BYTES = 72;

    private PasswordHashes() {}

    static boolean matches(PasswordHashConfig hash, byte[] password) {
        return switch (hash) {
            case PasswordHashConfig.Bcrypt bcrypt -> OpenBSDBCrypt.checkPassword(bcrypt.text(),
                    password.length > BCRYPT_MAX_BYTES ? Arrays.copyOf(password, BCRYPT_MAX_BYTES) : password);
            case PasswordHashConfig.Argon2id argon2 -> argon2id(argon2, password);
        };
    }

    private static boolean argon2id(PasswordHashConfig.Argon2id hash, byte[] password) {
        byte[] expected = hash.hash();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(hash.version())
                .withMemoryAsKB(hash.memoryKiB())
                .withIterations(hash.iterations())
                .withParallelism(hash.parallelism())
                .withSalt(hash.salt())
                .build());
        byte[] actual = new byte[expected.length];
        generator.generateBytes(password, actual);
        return org.bouncycastle.util.Arrays.constantTimeAreEqual(expected, actual);
    }
}
