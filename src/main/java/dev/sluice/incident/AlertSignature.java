package dev.sluice.incident;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How an alert is signed: {@code X-Sluice-Signature: sha256=<hex>} where the hex is
 * HMAC-SHA256, keyed with {@code alerts.secret}, of {@code <X-Sluice-Timestamp>.<body>}. The
 * timestamp is inside the signature so a captured alert cannot be replayed later as a new one
 * (a receiver refuses timestamps more than a few minutes old), as Stripe's and Slack's webhooks do.
 */
public final class AlertSignature {
    public static final String SIGNATURE_HEADER = "X-Sluice-Signature";
    public static final String TIMESTAMP_HEADER = "X-Sluice-Timestamp";
    static final String PREFIX = "sha256=";

    private AlertSignature() {}

    /** The value of {@value #SIGNATURE_HEADER} for {@code body} sent at {@code epochSeconds}. */
    public static String sign(String secret, long epochSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((epochSeconds + ".").getBytes(StandardCharsets.US_ASCII));
            return PREFIX + HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            // Every JDK has HmacSHA256, and any non-empty key is valid for it.
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** What a receiver does: recompute and compare in constant time. */
    public static boolean verify(String secret, String timestamp, byte[] body, String signature) {
        long seconds;
        try {
            seconds = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return false;
        }
        return signature != null && java.security.MessageDigest.isEqual(
                sign(secret, seconds, body).getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII));
    }
}
