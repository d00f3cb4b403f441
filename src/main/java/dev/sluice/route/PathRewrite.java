package dev.sluice.route;

import dev.sluice.config.PathRewriteConfig;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A route's path rewrite, compiled: what the request target becomes before it is forwarded. Only
 * the path changes; the query string goes on as it came. A target in absolute form ({@code
 * http://h/a}) is forwarded in origin form ({@code /b}) once rewritten, its host being in
 * {@code Host} already (RFC 9112 §3.2.2).
 */
final class PathRewrite {
    private final String prefix;
    private final String prefixTo;
    private final Pattern regex;
    /** Java's replacement syntax ({@code $1}), made from the config's {@code \1} or {@code $1}, other characters quoted. */
    private final String replacement;

    PathRewrite(PathRewriteConfig config, String matchedPrefix) {
        switch (config) {
            case PathRewriteConfig.None none -> {
                prefix = null;
                prefixTo = null;
                regex = null;
                replacement = null;
            }
            case PathRewriteConfig.Prefix p -> {
                prefix = matchedPrefix;
                prefixTo = p.to();
                regex = null;
                replacement = null;
            }
            case PathRewriteConfig.Regex r -> {
                prefix = null;
                prefixTo = null;
                regex = Pattern.compile(r.regex());
                replacement = javaReplacement(r.replace());
            }
        }
    }

    boolean rewrites() {
        return prefix != null || regex != null;
    }

    /** The target {@code uri} with its path rewritten, or {@code uri} itself when nothing changes. */
    String apply(String uri) {
        int start = 0;
        if (!uri.startsWith("/")) {
            int scheme = uri.indexOf("://");
            if (scheme > 0) {
                int slash = uri.indexOf('/', scheme + 3);
                start = slash < 0 ? uri.length() : slash;
            }
        }
        int query = uri.indexOf('?', start);
        int end = query < 0 ? uri.length() : query;
        String path = start == end ? "/" : uri.substring(start, end);
        String rewritten;
        if (prefix != null) {
            // The route matched on this prefix, so the path starts with it.
            rewritten = path.startsWith(prefix) ? prefixTo + path.substring(prefix.length()) : path;
        } else {
            Matcher m = regex.matcher(path);
            rewritten = m.find() ? m.replaceFirst(replacement) : path;
        }
        if (rewritten.isEmpty() || rewritten.charAt(0) != '/') {
            rewritten = "/" + rewritten;
        }
        if (start == 0 && rewritten.equals(path)) {
            return uri;
        }
        return query < 0 ? rewritten : rewritten + uri.substring(query);
    }

    static String javaReplacement(String replace) {
        StringBuilder java = new StringBuilder(replace.length() + 8);
        for (int i = 0; i < replace.length(); i++) {
            char c = replace.charAt(i);
            if ((c == '\\' || c == '$') && i + 1 < replace.length() && Character.isDigit(replace.charAt(i + 1))) {
                java.append('$').append(replace.charAt(++i));
            } else if (c == '\\' || c == '$') {
                java.append('\\').append(c);
            } else {
                java.append(c);
            }
        }
        return java.toString();
    }
}
