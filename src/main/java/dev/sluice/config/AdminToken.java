package dev.sluice.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/**
 * The bearer token of the admin API ({@code admin.token} or {@code admin.token_file}). Its text
 * leaves this class only as the field a client sends ({@link #authorization()}): {@link #toString()}
 * hides it, so a logged config or a failed assertion cannot print it.
 */
public final class AdminToken {
    /** 16 characters: below that a token is guessable offline from a captured hash or by brute force over a LAN. */
    static final int MIN_LENGTH = 16;

    private final String text;
    private final byte[] digest;

    private AdminToken(String text) {
        this.text = text;
        this.digest = sha256(text);
    }

    /**
     * The token, or why it cannot be one: RFC 6750 §2.1's {@code b64token} characters (what may
     * follow {@code Bearer } in a field), at least {@link #MIN_LENGTH} of them.
     */
    static Parsed<AdminToken> parse(String text) {
        if (text.length() < MIN_LENGTH) {
            return Parsed.invalid("a token needs at least " + MIN_LENGTH + " characters (got " + text.length()
                    + "); make one with `openssl rand -hex 32`");
        }
        if (!text.matches("[A-Za-z0-9\\-._~+/]+=*")) {
            return Parsed.invalid("a token may hold only letters, digits and - . _ ~ + / (then = at the end), "
                    + "as an Authorization: Bearer field allows");
        }
        return Parsed.ok(new AdminToken(text));
    }

    /** A token read outside a config ({@code --token-file}), by the same rules. */
    public static Optional<AdminToken> of(String text) {
        return parse(text) instanceof Parsed.Ok<AdminToken> ok ? Optional.of(ok.value()) : Optional.empty();
    }

    /**
     * Whether {@code presented} is the token, in time that depends on neither: both are hashed
     * first, so the comparison ({@link MessageDigest#isEqual}, constant time) always sees 32 bytes
     * and a wrong guess learns nothing of the token's length or its first differing character.
     */
    public boolean matches(String presented) {
        return MessageDigest.isEqual(digest, sha256(presented));
    }

    /** The value of the {@code Authorization} field that presents this token: what a client sends. */
    public String authorization() {
        return "Bearer " + text;
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof AdminToken t && MessageDigest.isEqual(digest, t.digest);
    }

    @Override
    public int hashCode() {
        return digest[0];
    }

    @Override
    public String toString() {
        return "[token]";
    }
}
