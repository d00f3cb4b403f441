package dev.sluice.exchange;

import java.net.InetAddress;

/** The proxies whose {@code X-Forwarded-For} is believed: a listener's {@code trusted_proxies}. */
public interface TrustedProxies {
    boolean trusts(InetAddress address);

    TrustedProxies NONE = address -> false;
}
