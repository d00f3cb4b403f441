package dev.sluice.exchange;

import dev.sluice.http.ReceivedRequest;
import dev.sluice.observe.RequestLog;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * What the admit step reads of a request: the keys its route's rate limits count by, each read
 * only when a rule asks for it.
 *
 * <p>The client is the peer, unless the peer is a trusted proxy: then {@code X-Forwarded-For} is
 * read from its right end (the address the nearest proxy saw), past every address that is itself
 * a trusted proxy, and the first that is not is the client, as nginx's
 * {@code real_ip_recursive on} decides. Addresses left of it were written by the client itself
 * and are never believed; from a peer that is not trusted, nothing in the header is.
 */
final class RequestKeys implements Admission.Request {
    private final HttpRequest request;
    private final ReceivedRequest verbatim;
    private final String peer;
    private final boolean peerTrusted;
    private final TrustedProxies trusted;
    private final RequestLog log;
    private String client;

    RequestKeys(HttpRequest request, ReceivedRequest verbatim, String peer, boolean peerTrusted,
                TrustedProxies trusted, RequestLog log) {
        this.request = request;
        this.verbatim = verbatim;
        this.peer = peer;
        this.peerTrusted = peerTrusted;
        this.trusted = trusted;
        this.log = log;
    }

    @Override
    public String client() {
        if (client == null) {
            // A request forwarded from its bytes has no X-Forwarded-For (ReceivedRequest.verbatim).
            client = !peerTrusted || verbatim != null && verbatim.verbatim() ? peer
                    : behindTrustedProxies(request.headers().getAll(HeaderPolicy.X_FORWARDED_FOR));
        }
        return client;
    }

    /** The first value of {@code name}. A request forwarded from its bytes then has its header map made. */
    @Override
    public String header(CharSequence name) {
        return request.headers().get(name);
    }

    /** The route's basic auth let the request in as {@code user}: its access-log line says who. */
    void authenticatedAs(String user) {
        log.authenticatedAs(user);
    }

    /** A shadow rate limit would have refused the request: its access-log line says which. */
    @Override
    public void shadowRefused(String rule) {
        log.shadowLimited(rule);
    }

    private String behindTrustedProxies(List<String> forwardedFor) {
        String found = peer;
        for (int v = forwardedFor.size() - 1; v >= 0; v--) {
            String value = forwardedFor.get(v);
            int end = value.length();
            while (end > 0) {
                int comma = value.lastIndexOf(',', end - 1);
                String element = value.substring(comma + 1, end).strip();
                end = Math.max(comma, 0);
                if (element.isEmpty()) {
                    continue;
                }
                byte[] address = NetUtil.createByteArrayFromIpAddressString(withoutPort(element));
                if (address == null) {
                    // Not an address (a proxy's "unknown"): the last one believed stays the client,
                    // which is stricter than skipping it; only a misconfigured proxy writes one there.
                    return found;
                }
                found = NetUtil.bytesToIpAddress(address);
                if (!trusts(address)) {
                    return found;
                }
            }
        }
        // Every address is a trusted proxy's: the leftmost is as far as anyone can tell.
        return found;
    }

    /** {@code [2001:db8::1]:443} → {@code 2001:db8::1}, {@code 192.0.2.1:443} → {@code 192.0.2.1}; other text as it is. */
    static String withoutPort(String element) {
        if (element.startsWith("[")) {
            int close = element.indexOf(']');
            return close < 0 ? element : element.substring(1, close);
        }
        int colon = element.indexOf(':');
        return colon >= 0 && colon == element.lastIndexOf(':') ? element.substring(0, colon) : element;
    }

    private boolean trusts(byte[] address) {
        try {
            return trusted.trusts(InetAddress.getByAddress(address));
        } catch (UnknownHostException wrongLength) {
            // NetUtil returns 4 or 16 bytes, the only lengths getByAddress takes.
            return false;
        }
    }
}
