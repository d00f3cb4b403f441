package dev.sluice.admin;

import dev.sluice.config.AdminConfig;
import dev.sluice.config.AdminToken;
import dev.sluice.config.HostPort;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may use the admin API, decided per request before any handler runs.
 *
 * <ul>
 *   <li><b>The token</b> ({@code admin.token}): when set, every request but {@code /live} and
 *       {@code /ready} presents {@code Authorization: Bearer <token>}, or gets 401. The probes stay
 *       open because they say only "up" and "draining", and an orchestrator's probe (the kubelet's)
 *       cannot hold a secret without writing it into the pod spec; so do the dashboard's static
 *       page, script and style, which hold no data (the page asks for the token).</li>
 *   <li><b>Cross-site requests</b>: a state-changing request (anything but GET and HEAD) needs the
 *       {@value #CSRF_HEADER} field, which a page on another site can send only after a CORS
 *       preflight that this API never approves (a form post or a "simple" fetch cannot set it);
 *       and an {@code Origin}, when present, must be this API's own. 403 otherwise.</li>
 *   <li><b>DNS rebinding</b>: without a token the API is reachable only from this host, and a page
 *       whose name an attacker re-points at 127.0.0.1 is same-origin to the browser, so the two
 *       checks above would pass. Its requests name the attacker's host in {@code Host}, so an
 *       admin without a token answers only requests addressed to a loopback name or its own
 *       configured host. With a token the name does not matter: the page cannot know the token.</li>
 * </ul>
 */
public final class AdminGuard {
    /** The field that proves a request was not made by a page of another site. */
    public static final String CSRF_HEADER = "X-Sluice-Admin";

    /** What the guard says about one request. */
    public sealed interface Verdict {
        record Allowed() implements Verdict {}

        /** Refused with this answer; {@code challenge} is the {@code WWW-Authenticate} value of a 401. */
        record Refused(int status, String body, Optional<String> challenge) implements Verdict {}
    }

    private static final Verdict ALLOWED = new Verdict.Allowed();
    /** RFC 6750 §3: a 401 names the scheme it wants. */
    private static final String CHALLENGE = "Bearer realm=\"sluice-admin\"";

    private final Optional<AdminToken> token;
    private final String configuredHost;

    public AdminGuard(Optional<AdminToken> token, HostPort configured) {
        this.token = token;
        this.configuredHost = configured.host().toLowerCase(Locale.ROOT);
    }

    public static AdminGuard of(AdminConfig config) {
        return new AdminGuard(config.token(), config.address());
    }

    public Verdict check(HttpMethod method, String path, HttpHeaders headers) {
        // The dashboard's page, script and style hold nothing secret: a browser loads them before
        // it can be asked for the token, which the page then sends with each of its requests.
        boolean probe = path.equals("/live") || path.equals("/ready")
                || (HttpMethod.GET.equals(method) && Dashboard.isAsset(path));
        String host = headers.get("Host", "");
        if (token.isEmpty() && !host.isEmpty() && !isOwnName(hostName(host))) {
            return refused(403, "the admin API answers requests addressed to " + configuredHost
                    + " or a loopback name, not '" + host + "' (a page re-pointing its own name at this host)");
        }
        if (token.isPresent() && !probe && !presentsToken(headers.get("Authorization"))) {
            return new Verdict.Refused(401, "the admin API needs Authorization: Bearer <admin.token>\n",
                    Optional.of(CHALLENGE));
        }
        if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
            return ALLOWED;
        }
        String origin = headers.get("Origin");
        if (origin != null && !origin.equalsIgnoreCase("http://" + host)) {
            return refused(403, method + " " + path + " refused: it comes from a page of " + origin
                    + ", not from this admin API (http://" + host + ")");
        }
        if (!headers.contains(CSRF_HEADER)) {
            return refused(403, method + " " + path + " refused: a request that changes state needs the field "
                    + CSRF_HEADER + ": 1 (bin/sluice and the dashboard send it; with curl add -H '" + CSRF_HEADER
                    + ": 1'), which a page of another site cannot send");
        }
        return ALLOWED;
    }

    private boolean presentsToken(String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return token.get().matches(authorization.substring(7).strip());
    }

    private boolean isOwnName(String name) {
        return name.equals(configuredHost) || AdminConfig.isLoopback(new HostPort(name, 1));
    }

    /** The host of a {@code Host} field, without its port and an IPv6 literal's brackets. */
    static String hostName(String hostField) {
        String host = hostField.toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host : host.substring(1, end);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }

    private static Verdict refused(int status, String reason) {
        return new Verdict.Refused(status, reason + "\n", Optional.empty());
    }
}
