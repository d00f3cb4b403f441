package dev.sluice.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The WebSocket handshake's key and its answer (RFC 6455 §4.1, §4.2.2), for the upgrade Sluice
 * asks of an HTTP/1.1 endpoint on behalf of an HTTP/2 client, which sends no key (RFC 8441 §5).
 */
final class WebSocketKeys {
    /** RFC 6455 §1.3: the GUID every server appends to the key it answers. */
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private WebSocketKeys() {
    }

    /** 16 random bytes in base64: a nonce that only shows the endpoint speaks WebSocket, not a secret. */
    static String newKey() {
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        return Base64.getEncoder().encodeToString(nonce);
    }

    /** The {@code Sec-WebSocket-Accept} that answers {@code key}. */
    static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }
}
