package dev.sluice.observe;

import java.util.List;
import java.util.Locale;

/**
 * Query parameters whose values never reach the access log: credentials that clients put in URLs
 * (OAuth tokens and codes, API keys, signed-URL signatures). A request line is the part of a
 * request most often logged, shipped and kept; a token in it is a token in every log store. The
 * value becomes {@code REDACTED}; the name stays, so the log still says that one was sent.
 * Names match whole and ignoring case ({@code Token=} is {@code token=}).
 */
public final class QueryRedaction {
    /** Sluice's default: what OAuth 2.0, OpenID Connect, common API-key schemes and cloud signed URLs put in queries. */
    public static final List<String> DEFAULT_NAMES = List.of("access_token", "refresh_token", "id_token", "token",
            "code", "api_key", "apikey", "key", "password", "secret", "client_secret", "signature", "sig",
            "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature");
    public static final QueryRedaction DEFAULT = new QueryRedaction(DEFAULT_NAMES);
    static final String REDACTED = "REDACTED";

    private final String[] names;

    public QueryRedaction(List<String> names) {
        this.names = names.stream().map(n -> n.toLowerCase(Locale.ROOT)).toArray(String[]::new);
    }

    /** {@code uri} with the value of every listed parameter replaced; {@code uri} itself when there is none. */
    public String apply(String uri) {
        int query = uri == null || names.length == 0 ? -1 : uri.indexOf('?');
        if (query < 0) {
            return uri;
        }
        StringBuilder out = null;
        int copied = 0;
        int start = query + 1;
        while (start <= uri.length()) {
            int end = uri.indexOf('&', start);
            if (end < 0) {
                end = uri.length();
            }
            int equals = uri.indexOf('=', start);
            if (equals >= 0 && equals < end && listed(uri, start, equals) && !isRedacted(uri, equals + 1, end)) {
                if (out == null) {
                    out = new StringBuilder(uri.length() + REDACTED.length());
                }
                out.append(uri, copied, equals + 1).append(REDACTED);
                copied = end;
            }
            start = end + 1;
        }
        return out == null ? uri : out.append(uri, copied, uri.length()).toString();
    }

    private boolean listed(String uri, int start, int end) {
        for (String name : names) {
            if (name.length() == end - start && uri.regionMatches(true, start, name, 0, name.length())) {
                return true;
            }
        }
        return false;
    }

    private static boolean isRedacted(String uri, int start, int end) {
        return end - start == REDACTED.length() && uri.startsWith(REDACTED, start);
    }
}
