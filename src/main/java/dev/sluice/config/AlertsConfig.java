package dev.sluice.config;

import java.net.URI;
import java.util.Objects;

/**
 * Where incidents are announced ({@code alerts:}): a JSON {@code POST} to {@code webhook} when an
 * incident opens and when it closes, signed with {@code secret} (HMAC-SHA256, see
 * docs/operations.md "Alerts") so the receiver can tell Sluice's alerts from anyone's.
 *
 * @param webhook an absolute {@code http} or {@code https} URL
 * @param secret the signing key, from {@code secret} or {@code secret_file}; {@link #toString()} hides it
 */
public record AlertsConfig(URI webhook, String secret) {
    public AlertsConfig {
        Objects.requireNonNull(webhook, "webhook");
        Objects.requireNonNull(secret, "secret");
    }

    @Override
    public String toString() {
        return "AlertsConfig[webhook=" + webhook + ", secret=(hidden)]";
    }
}
