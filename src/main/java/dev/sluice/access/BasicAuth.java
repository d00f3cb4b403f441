package dev.sluice.access;

import dev.sluice.config.BasicAuthConfig;
import dev.sluice.config.PasswordHashConfig;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A route's {@code basic_auth} (RFC 7617): reads a request's {@code Authorization}, answers at
 * once for credentials it has seen succeed, and otherwise says which hash to check, which the
 * caller does off its event loop ({@link #verify}, on {@link PasswordChecks}' threads).
 *
 * <p>Checked credentials are remembered by a salted SHA-256 of the header's value (never the
 * password), so a keep-alive client pays for its hash once, not per request. The memory is this
 * object's: a reload that changes the users file makes a new one, so a removed user or a changed
 * password stops working with the reload.
 */
public final class BasicAuth {
    /** No {@code basic_auth}: every request passes. */
    static final BasicAuth NONE = new BasicAuth(null);

    /** 4096 credentials (~0.5 MiB): more distinct users than a route behind basic auth usually has. */
    static final int MAX_REMEMBERED = 4096;
    /** A header longer than this is not credentials anyone typed: refused without a check. */
    private static final int MAX_HEADER_LENGTH = 4096;
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() throws NoSuchAlgorithmException {
            return MessageDigest.getInstance("SHA-256");
        }
    };

    private final BasicAuthConfig config;
    private final Map<String, PasswordHashConfig> users;
    /** Checked, and failed, for a name the file does not have: a refusal takes as long as for a wrong password. */
    private final PasswordHashConfig decoy;
    private final String challenge;
    private final byte[] salt = new byte[16];
    /** Credentials checked and found right: their salted digest → the user's name. */
    private final Map<ByteBuffer, String> remembered = new ConcurrentHashMap<>();

    BasicAuth(BasicAuthConfig config) {
        this.config = config;
        this.users = new HashMap<>();
        if (config == null) {
            this.decoy = null;
            this.challenge = "";
            return;
        }
        for (BasicAuthConfig.User user : config.users()) {
            users.put(user.name(), user.hash());
        }
        this.decoy = config.users().getFirst().hash();
        // RFC 7617 §2.1: charset="UTF-8" tells the client how to encode the name and password.
        this.challenge = "Basic realm=\"" + config.realm() + "\", charset=\"UTF-8\"";
        new SecureRandom().nextBytes(salt);
    }

    public boolean required() {
        return config != null;
    }

    /** The {@code WWW-Authenticate} of a 401. */
    public String challenge() {
        return challenge;
    }

    BasicAuthConfig config() {
        return config;
    }

    /** What {@code authorization} (the header's value, or null) says; quick, on the event loop. */
    public Credentials read(String authorization) {
        if (authorization == null || authorization.length() > MAX_HEADER_LENGTH
                || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Credentials.Missing.INSTANCE;
        }
        String token = authorization.substring(6).strip();
        if (!isBase64(token)) {
            return Credentials.Missing.INSTANCE;
        }
        ByteBuffer key = digest(token);
        String known = remembered.get(key);
        if (known != null) {
            return new Credentials.Known(known);
        }
        byte[] decoded = java.util.Base64.getDecoder().decode(token);
        int colon = indexOf(decoded, (byte) ':');
        if (colon < 0) {
            return Credentials.Missing.INSTANCE;
        }
        String name = new String(decoded, 0, colon, StandardCharsets.UTF_8);
        byte[] password = Arrays.copyOfRange(decoded, colon + 1, decoded.length);
        PasswordHashConfig hash = users.get(name);
        return new Credentials.Unchecked(name, hash != null ? hash : decoy, hash != null, password, key);
    }

    /**
     * Slow: checks the password against its hash, and remembers credentials that are right.
     * Never on an event loop; once per {@link Credentials.Unchecked}, whose password it clears.
     */
    public boolean verify(Credentials.Unchecked credentials) {
        boolean right = PasswordHashes.matches(credentials.hash(), credentials.password()) && credentials.knownUser();
        // Not kept once checked: a heap dump or a leaked object shows no password.
        Arrays.fill(credentials.password(), (byte) 0);
        if (right) {
            if (remembered.size() >= MAX_REMEMBERED) {
                // Full: one goes (whichever the map yields first); its owner pays for one check again.
                Iterator<ByteBuffer> oldest = remembered.keySet().iterator();
                if (oldest.hasNext()) {
                    remembered.remove(oldest.next());
                }
            }
            remembered.put(credentials.key(), credentials.user());
        }
        return right;
    }

    /** How many credentials are remembered now. */
    int remembered() {
        return remembered.size();
    }

    private ByteBuffer digest(String token) {
        MessageDigest sha256 = SHA256.get();
        sha256.update(salt);
        sha256.update(token.getBytes(StandardCharsets.US_ASCII));
        return ByteBuffer.wrap(sha256.digest());
    }

    /** Standard base64 with its padding, so decoding cannot fail (RFC 7617 §2 uses RFC 4648 §4). */
    private static boolean isBase64(String token) {
        int length = token.length();
        if (length == 0 || length % 4 != 0) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = token.charAt(i);
            boolean letter = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/';
            boolean padding = c == '=' && i >= length - 2 && (i == length - 1 || token.charAt(length - 1) == '=');
            if (!letter && !padding) {
                return false;
            }
        }
        return true;
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** What a request's {@code Authorization} holds, as far as the event loop can tell. */
    public sealed interface Credentials {
        /** None, not {@code Basic}, or not decodable: answered 401 at once. */
        enum Missing implements Credentials { INSTANCE }

        /** Credentials already checked and found right. */
        record Known(String user) implements Credentials {}

        /**
         * Credentials to check against {@code hash}: the user's, or for a name the file does not
         * have ({@code knownUser} false) a decoy that is checked as long and then refused.
         */
        record Unchecked(String user, PasswordHashConfig hash, boolean knownUser, byte[] password, ByteBuffer key)
                implements Credentials {}
    }
}
