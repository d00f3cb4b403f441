package dev.sluice.exchange;

import dev.sluice.access.AccessRules;
import dev.sluice.access.BasicAuth;
import dev.sluice.access.Cors;
import dev.sluice.access.PasswordChecks;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.route.Route;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access step, between route and admit: whether the route's rules let this request in. In
 * order: the client's address ({@code allow_ips}, {@code deny_ips}: 403 {@code access_denied}),
 * a CORS preflight (answered here: 204, or 403 for an origin not allowed, before credentials,
 * which a browser never sends on a preflight), then basic authentication (401
 * {@code unauthenticated} with the challenge). Credentials seen before are decided at once; new
 * ones are checked on {@link PasswordChecks}' threads and the request resumes on its own loop,
 * as a queued admission does. Called on the request's event loop; it never waits.
 */
final class AccessCheck {
    private static final Logger LOG = LoggerFactory.getLogger(AccessCheck.class);
    private static final Decision ALLOWED = new Decision.Allowed(ReplyFields.NONE);

    private AccessCheck() {}

    /** What the access step decided. A later step (forward auth) adds its own answers here. */
    sealed interface Decision {
        /** The request goes on; {@code responseFields} (CORS) are added to whatever answers it. */
        record Allowed(ReplyFields responseFields) implements Decision {}

        /** Refused with a kind the client is told, and the fields that go with it ({@code WWW-Authenticate}, CORS). */
        record Refused(FailureKind kind, ReplyFields fields) implements Decision {}

        /** Sluice answers the request itself, once it has been read (a CORS preflight's 204). */
        record Answered(LocalAnswer answer) implements Decision {}

        /**
         * Refused by the route's {@code forward_auth} service, whose own answer goes to the client
         * as it came (a 401 with its challenge, a 302 to a login page), named {@code kind}.
         */
        record Denied(FailureKind kind, LocalAnswer answer) implements Decision {}

        /**
         * Being checked off the loop (basic auth), or by the auth service ({@link AuthCheck}): the
         * outcome is delivered once, on the request's loop, unless the request gives up first
         * ({@link Admission.Withdrawal#withdraw}).
         */
        record Pending(Admission.Withdrawal withdrawal) implements Decision {}
    }

    /** A request whose check went off its loop, resumed there with the outcome. */
    interface Resume {
        EventLoop loop();

        void accessAllowed(ReplyFields responseFields);

        void refused(FailureKind kind, ReplyFields fields);
    }

    static Decision check(Route route, HttpRequest request, RequestKeys keys, PasswordChecks checks, Resume resume) {
        AccessRules rules = route.access();
        if (rules.isOpen()) {
            return ALLOWED;
        }
        if (!rules.addresses().admits(keys.client())) {
            return new Decision.Refused(FailureKind.ACCESS_DENIED, ReplyFields.NONE);
        }
        Cors cors = rules.cors();
        ReplyFields corsFields = ReplyFields.NONE;
        if (cors.configured()) {
            if (cors.isPreflight(request)) {
                ReplyFields fields = cors.preflight(request);
                return fields == null ? new Decision.Refused(FailureKind.ACCESS_DENIED, cors.responseFields(null))
                        : new Decision.Answered(preflightAnswer(fields));
            }
            corsFields = cors.responseFields(request.headers().get(HttpHeaderNames.ORIGIN));
        }
        BasicAuth auth = rules.basicAuth();
        if (!auth.required()) {
            return corsFields.size() == 0 ? ALLOWED : new Decision.Allowed(corsFields);
        }
        return switch (auth.read(request.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            case BasicAuth.Credentials.Missing missing -> unauthenticated(auth, corsFields);
            case BasicAuth.Credentials.Known known -> {
                keys.authenticatedAs(known.user());
                yield new Decision.Allowed(corsFields);
            }
            case BasicAuth.Credentials.Unchecked unchecked -> {
                Checking checking = new Checking(auth, unchecked, keys, corsFields, resume);
                // Too many new credentials waiting to be checked: shed, as an overloaded cluster is.
                yield checks.offer(checking) ? new Decision.Pending(checking)
                        : new Decision.Refused(FailureKind.OVERLOADED, corsFields);
            }
        };
    }

    private static Decision.Refused unauthenticated(BasicAuth auth, ReplyFields corsFields) {
        // RFC 9110 §11.6.1: a 401 carries the challenge the client should answer.
        return new Decision.Refused(FailureKind.UNAUTHENTICATED,
                corsFields.with(HttpHeaderNames.WWW_AUTHENTICATE, auth.challenge()));
    }

    private static LocalAnswer preflightAnswer(ReplyFields fields) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT);
        addTo(head.headers(), fields);
        return new LocalAnswer(head, new byte[0]);
    }

    /** Adds {@code fields} to a response's: each set (replacing a backend's own), but {@code Vary}, which is added to. */
    static void addTo(HttpHeaders headers, ReplyFields fields) {
        for (int i = 0; i < fields.size(); i++) {
            if (fields.name(i).contentEqualsIgnoreCase(HttpHeaderNames.VARY)) {
                headers.add(fields.name(i), fields.value(i));
            } else {
                headers.set(fields.name(i), fields.value(i));
            }
        }
    }

    /**
     * Credentials being checked: run on a checking thread, answered on the request's loop. The
     * only state both threads see is {@code withdrawn}.
     */
    private static final class Checking implements Runnable, Admission.Withdrawal {
        private final BasicAuth auth;
        private final BasicAuth.Credentials.Unchecked credentials;
        private final RequestKeys keys;
        private final ReplyFields corsFields;
        private final Resume resume;
        private volatile boolean withdrawn;

        Checking(BasicAuth auth, BasicAuth.Credentials.Unchecked credentials, RequestKeys keys, ReplyFields corsFields,
                 Resume resume) {
            this.auth = auth;
            this.credentials = credentials;
            this.keys = keys;
            this.corsFields = corsFields;
            this.resume = resume;
        }

        /** On a checking thread. */
        @Override
        public void run() {
            if (withdrawn) {
                return;
            }
            boolean right = checked();
            try {
                resume.loop().execute(() -> answered(right));
            } catch (RejectedExecutionException shuttingDown) {
                // The gateway is closing: its connections, this request's too, are being closed.
            }
        }

        private boolean checked() {
            try {
                return auth.verify(credentials);
            } catch (RuntimeException bug) {
                // The hashes were checked at load, so this is the library's failure: refuse, and
                // resume the request rather than leave it waiting for its client's timeout.
                LOG.warn("checking the password of '{}' failed: {}", credentials.user(), bug.toString());
                return false;
            }
        }

        /** On the request's loop. */
        private void answered(boolean right) {
            if (withdrawn) {
                return;
            }
            if (right) {
                keys.authenticatedAs(credentials.user());
                resume.accessAllowed(corsFields);
            } else {
                Decision.Refused refused = unauthenticated(auth, corsFields);
                resume.refused(refused.kind(), refused.fields());
            }
        }

        /** On the request's loop: its client went away. A check already running finishes; its answer is dropped. */
        @Override
        public void withdraw() {
            withdrawn = true;
        }
    }
}
