package dev.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * {@code routes[].cors}: which web origins' scripts may call the route, and with what.
 *
 * @param origins allowed origins, lower case ({@code https://app.example.com}, or
 *     {@code https://*.example.com} for its subdomains); empty when {@code anyOrigin}
 * @param anyOrigin {@code origins: "*"}: every origin (never with {@code credentials})
 * @param methods the methods a preflight allows, upper case as written
 * @param headers the request fields a preflight allows, lower case; empty for none but the
 *     CORS-safelisted ones
 * @param anyHeader {@code headers: "*"}: whatever fields a preflight asks for are allowed
 * @param expose response fields a script may read beyond the safelisted ones, as written
 * @param credentials whether a script may send cookies or {@code Authorization} and read the answer
 * @param maxAge how long a browser may keep a preflight's answer
 */
public record CorsConfig(List<String> origins, boolean anyOrigin, List<String> methods, List<String> headers,
                         boolean anyHeader, List<String> expose, boolean credentials, Duration maxAge) {

    public CorsConfig {
        origins = List.copyOf(origins);
        methods = List.copyOf(methods);
        headers = List.copyOf(headers);
        expose = List.copyOf(expose);
    }

    /** The CORS-safelisted methods (Fetch standard): what a simple cross-origin form or fetch may use anyway. */
    public static final List<String> DEFAULT_METHODS = List.of("GET", "HEAD", "POST");

    /**
     * 5 minutes: without it browsers keep a preflight's answer 5 s, so a busy page preflights
     * nearly every call; longer, and a narrowed policy takes that long to reach open pages
     * (Chrome keeps it at most 2 h, Firefox 24 h).
     */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(5);
}
