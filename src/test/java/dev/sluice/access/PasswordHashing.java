package dev.sluice.access;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.crypto.params.Argon2Parameters;

/** Users-file hashes made by BouncyCastle, as htpasswd -B and the argon2 CLI write them; cheap parameters, for tests. */
public final class PasswordHashing {
    private static final byte[] SALT = "sixteen byte slt".getBytes(StandardCharsets.US_ASCII);

    private PasswordHashing() {}

    /** {@code $2y$04$…}: bcrypt at its lowest cost. */
    public static String bcrypt(String password) {
        return OpenBSDBCrypt.generate("2y", password.toCharArray(), SALT, 4);
    }

    /** {@code $argon2id$v=19$m=64,t=1,p=1$…$…}. */
    public static String argon2id(String password) {
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id).withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withMemoryAsKB(64).withIterations(1).withParallelism(1).withSalt(SALT).build());
        byte[] hash = new byte[32];
        generator.generateBytes(password.getBytes(StandardCharsets.UTF_8), hash);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        return "$argon2id$v=19$m=64,t=1,p=1$" + b64.encodeToString(SALT) + "$" + b64.encodeToString(hash);
    }

    /** The value of an {@code Authorization} header for {@code user} and {@code password}. */
    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
}
