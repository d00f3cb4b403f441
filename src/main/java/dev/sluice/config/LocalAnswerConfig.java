package dev.sluice.config;

import java.util.Optional;

/** What a route answers by itself, without a cluster: a redirect or a fixed response. */
public sealed interface LocalAnswerConfig {

    /**
     * {@code routes[].redirect}.
     *
     * @param to the {@code Location}, with variables
     * @param status 301, 302, 303, 307 or 308
     */
    record Redirect(TemplateConfig to, int status) implements LocalAnswerConfig {
        /** 302, as nginx's {@code return URL} and Caddy's {@code redir}: a permanent redirect is cached by browsers for good, so it is asked for explicitly. */
        public static final int DEFAULT_STATUS = 302;
    }

    /**
     * {@code routes[].respond}.
     *
     * @param status the response's status
     * @param body sent as written (UTF-8)
     * @param contentType its {@code Content-Type}; none when absent
     */
    record Respond(int status, String body, Optional<String> contentType) implements LocalAnswerConfig {
        /** Given a body but no type: plain text, which a browser shows rather than downloads. */
        public static final String DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8";
    }
}
