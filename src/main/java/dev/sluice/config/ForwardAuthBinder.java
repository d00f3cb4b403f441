package dev.sluice.config;

import dev.sluice.http.FieldSyntax;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Binds a route's {@code forward_auth: { url | cluster + path, timeout, request_headers,
 * response_headers }}: one service, a path that is a path, and header names Sluice lets a
 * check copy.
 */
final class ForwardAuthBinder {
    private static final List<String> KEYS = List.of("url", "cluster", "path", "timeout", "request_headers",
            "response_headers");

    private final Values values;

    ForwardAuthBinder(Values values) {
        this.values = values;
    }

    /**
     * @param clusters the defined cluster names, or empty when the clusters section itself is broken
     */
    Optional<ForwardAuthConfig> bind(YamlNode node, String path, Optional<Set<String>> clusters) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> url = f.optional("url");
        Optional<YamlNode> cluster = f.optional("cluster");
        Optional<ForwardAuthConfig.Service> service = Optional.empty();
        String target = "/";
        if (url.isPresent() == cluster.isPresent()) {
            values.problems().add(url.isPresent() ? f.keyAt("cluster") : f.at(), path + ": give either 'url' "
                    + "(http://auth.internal:9000/check) or 'cluster' with 'path', the auth service to ask");
        } else if (url.isPresent()) {
            f.optional("path").ifPresent(p -> values.problems().add(f.keyAt("path"), f.path("path")
                    + ": the path goes in the 'url'; 'path' is for a 'cluster'"));
            Optional<UrlParts> parts = values.parsed(url.get(), f.path("url"), "a URL like http://auth.internal:9000/check",
                    ForwardAuthBinder::url);
            if (parts.isPresent()) {
                String name = new ForwardAuthConfig.Url(parts.get().address()).clusterName();
                if (clusters.isPresent() && clusters.get().contains(name)) {
                    values.invalid(url.get(), f.path("url"), "Sluice names the cluster of this url '" + name
                            + "', which a cluster of the file already is; rename that cluster");
                }
                service = Optional.of(new ForwardAuthConfig.Url(parts.get().address()));
                target = parts.get().target();
            }
        } else {
            Optional<String> name = values.name(cluster.get(), f.path("cluster"));
            if (name.isPresent() && clusters.isPresent() && !clusters.get().contains(name.get())) {
                values.invalid(cluster.get(), f.path("cluster"), "undefined cluster '" + name.get() + "'"
                        + Suggestions.didYouMean(name.get(), clusters.get()));
            }
            service = name.map(ForwardAuthConfig.Cluster::new);
            target = f.required("path").flatMap(n -> values.parsed(n, f.path("path"), "a path like /check",
                    ForwardAuthBinder::target)).orElse("/");
        }
        Duration timeout = f.optional("timeout").flatMap(n -> values.duration(n, f.path("timeout")))
                .orElse(ForwardAuthConfig.DEFAULT_TIMEOUT);
        Optional<List<String>> requestHeaders = f.optional("request_headers")
                .map(n -> names(n, f.path("request_headers"), "copied to the check"));
        List<String> responseHeaders = f.optional("response_headers")
                .map(n -> names(n, f.path("response_headers"), "copied from the answer")).orElse(List.of());
        if (values.problems().count() > before || service.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ForwardAuthConfig(service.get(), target, timeout, requestHeaders, responseHeaders));
    }

    record UrlParts(HostPort address, String target) {}

    /** {@code http://host[:port][/path][?query]}: port 80 when left out, path {@code /}. */
    private static Parsed<UrlParts> url(String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            return Parsed.invalid("'" + text + "' is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            return Parsed.invalid("'" + text + "': https to the auth service is not supported yet; use http:// "
                    + "(on a network you trust) or a cluster");
        }
        if (!scheme.equals("http") || uri.getRawAuthority() == null) {
            return Parsed.invalid("'" + text + "' must be an http:// URL with a host, like http://auth.internal:9000/check");
        }
        if (uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            return Parsed.invalid("'" + text + "' must not have a user or a #fragment");
        }
        String authority = uri.getRawAuthority();
        Parsed<HostPort> address = Addresses.parse(uri.getPort() < 0 ? authority + ":80" : authority, 1);
        if (address instanceof Parsed.Invalid<HostPort> invalid) {
            return Parsed.invalid("'" + text + "': " + invalid.reason());
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return Parsed.ok(new UrlParts(((Parsed.Ok<HostPort>) address).value(), path + query));
    }

    /** A path starting with '/', with a query if wanted: no spaces, control characters or '#'. */
    private static Parsed<String> target(String text) {
        if (!text.startsWith("/") || text.chars().anyMatch(c -> c <= ' ' || c == 0x7f || c == '#' || c > 0x7e)) {
            return Parsed.invalid("'" + text + "' must be a path starting with '/', without spaces, control "
                    + "characters or '#'");
        }
        return Parsed.ok(text);
    }

    /** A list of header names, lower-cased; none Sluice writes itself. */
    private List<String> names(YamlNode node, String path, String what) {
        List<String> names = new ArrayList<>();
        FirstSeen<String> seen = new FirstSeen<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                YamlNode item = list.items().get(i);
                String itemPath = Paths.item(path, i);
                values.text(item, itemPath, "a header name").ifPresent(name -> {
                    if (!FieldSyntax.isToken(name)) {
                        values.invalid(item, itemPath, "'" + name + "' is not a valid header name");
                        return;
                    }
                    String lower = name.toLowerCase(Locale.ROOT);
                    Optional<String> reserved = RouteRulesBinder.reserved(lower);
                    if (reserved.isPresent()) {
                        values.invalid(item, itemPath, "'" + name + "' cannot be " + what + ": " + reserved.get());
                        return;
                    }
                    seen.claim(lower, item.at()).ifPresentOrElse(first -> values.invalid(item, itemPath,
                            "'" + name + "' is listed twice (first at " + first + "; header names ignore case)"),
                            () -> names.add(lower));
                });
            }
        });
        return names;
    }
}
