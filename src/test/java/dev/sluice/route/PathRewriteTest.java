package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PathRewriteConfig;
import org.junit.jupiter.api.Test;

/** The path rewrite on its own: only the path changes, the query goes on, a path always starts with '/'. */
class PathRewriteTest {

    private static String strip(String prefix, String uri) {
        return new PathRewrite(new PathRewriteConfig.Prefix(""), prefix).apply(uri);
    }

    @Test
    void strippingAPrefixKeepsTheQueryAndTheLeadingSlash() {
        assertThat(strip("/api", "/api/orders?id=7")).isEqualTo("/orders?id=7");
        assertThat(strip("/api/", "/api/orders?id=7")).isEqualTo("/orders?id=7");
        assertThat(strip("/api", "/api")).isEqualTo("/");
        assertThat(strip("/api", "/api?x")).isEqualTo("/?x");
        // Not segment-aware, as the match is not: /api also matched /apiary.
        assertThat(strip("/api", "/apiary")).isEqualTo("/ary");
    }

    @Test
    void aPrefixIsReplaced() {
        var rewrite = new PathRewrite(new PathRewriteConfig.Prefix("/v2/"), "/v1/");
        assertThat(rewrite.apply("/v1/a/b?c=d")).isEqualTo("/v2/a/b?c=d");
    }

    @Test
    void aRegexFillsItsGroupsWrittenEitherWay() {
        var backslash = new PathRewrite(new PathRewriteConfig.Regex("^/u/(\\d+)/(\\w+)$", "/users/\\1/\\2"), null);
        assertThat(backslash.apply("/u/42/edit?full=1")).isEqualTo("/users/42/edit?full=1");
        var dollar = new PathRewrite(new PathRewriteConfig.Regex("^/u/(\\d+)$", "/users/$1"), null);
        assertThat(dollar.apply("/u/42")).isEqualTo("/users/42");
        // Only the first match is replaced; an unmatched path is left as it is (the same string).
        var part = new PathRewrite(new PathRewriteConfig.Regex("old", "new"), null);
        assertThat(part.apply("/old/old")).isEqualTo("/new/old");
        String unmatched = "/u/me?x=1";
        assertThat(dollar.apply(unmatched)).isSameAs(unmatched);
    }

    @Test
    void anAbsoluteFormTargetGoesOutInOriginFormOnceRewritten() {
        assertThat(strip("/api", "http://shop.example/api/a?b=1")).isEqualTo("/a?b=1");
    }

    @Test
    void literalBackslashesAndDollarsInAReplacementStayLiteral() {
        assertThat(PathRewrite.javaReplacement("/a$b\\c/\\1")).isEqualTo("/a\\$b\\\\c/$1");
    }
}
