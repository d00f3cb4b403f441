package dev.sluice.admin;

import dev.sluice.admin.AdminServer.AdminResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The dashboard: one page on the admin listener ({@code GET /}), its script and its style, read
 * from the jar once (no CDN, no build step). The page polls {@code /status}, {@code /incidents},
 * {@code /canaries} and {@code /config/versions} and rolls back through {@code POST /rollback}, sending the
 * {@value AdminGuard#CSRF_HEADER} field (and the admin token, when one is asked for) like any client.
 */
final class Dashboard {
    static final String PAGE = "/";
    static final String SCRIPT = "/dashboard.js";
    static final String STYLE = "/dashboard.css";

    /**
     * Scripts and styles only from this listener, no framing (a page of another site cannot
     * overlay the rollback button: clickjacking), and requests only to this origin.
     */
    private static final Map<String, String> FIELDS = Map.of(
            "Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                    + "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            "X-Frame-Options", "DENY",
            "X-Content-Type-Options", "nosniff",
            "Referrer-Policy", "no-referrer",
            "Cache-Control", "no-cache");

    private static final AdminResponse PAGE_ANSWER = load("dashboard.html", "text/html; charset=utf-8");
    private static final AdminResponse SCRIPT_ANSWER = load("dashboard.js", "text/javascript; charset=utf-8");
    private static final AdminResponse STYLE_ANSWER = load("dashboard.css", "text/css; charset=utf-8");

    private Dashboard() {}

    static AdminResponse asset(String path) {
        return switch (path) {
            case SCRIPT -> SCRIPT_ANSWER;
            case STYLE -> STYLE_ANSWER;
            default -> PAGE_ANSWER;
        };
    }

    static boolean isAsset(String path) {
        return path.equals(PAGE) || path.equals(SCRIPT) || path.equals(STYLE);
    }

    private static AdminResponse load(String name, String contentType) {
        try (InputStream in = Dashboard.class.getResourceAsStream("dashboard/" + name)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks dev/sluice/admin/dashboard/" + name);
            }
            return new AdminResponse(200, contentType, new String(in.readAllBytes(), StandardCharsets.UTF_8), FIELDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
