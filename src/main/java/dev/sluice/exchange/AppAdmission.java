package dev.sluice.exchange;

import dev.sluice.apps.AppSupervisor;
import dev.sluice.apps.AppWaiter;
import dev.sluice.apps.Apps;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The admit step of a cluster backed by an app ({@code clusters[].app}), in front of the
 * cluster's concurrency: a ready app's requests go straight on; while it is not running, a request
 * waits in the app's hold queue (and asks its supervisor for a start) for at most
 * {@code hold.timeout}, never past its route's timeout, then goes on to {@code next} in order of
 * arrival, so a cold app gets its backlog at its admitted concurrency, not all at once. A full hold
 * queue is 503 {@code overloaded}; a wait that runs out, 503 {@code app_starting_timeout}; an app
 * whose restart waits for its crash backoff, 503 {@code app_crash_loop} at once. Each with
 * {@code Retry-After}. Clusters without an app go to {@code next} untouched.
 */
public final class AppAdmission implements Admission {
    private final Admission next;
    private final Apps apps;
    private final java.util.function.LongSupplier nanoClock;

    public AppAdmission(Admission next, Apps apps, java.util.function.LongSupplier nanoClock) {
        this.next = next;
        this.apps = apps;
        this.nanoClock = nanoClock;
    }

    @Override
    public Decision admit(Route route, Cluster cluster, Request request, Resume resume) {
        if (cluster.config().app().isEmpty()) {
            return next.admit(route, cluster, request, resume);
        }
        Optional<AppSupervisor> app = apps.app(cluster.name());
        if (app.isEmpty()) {
            // A cluster of a config the apps have not caught up with (a reload in progress): as any cluster.
            return next.admit(route, cluster, request, resume);
        }
        Waiting waiting = new Waiting(app.get(), route, cluster, request, resume);
        return waiting.admit();
    }

    private static ReplyFields retryAfter(long seconds) {
        return ReplyFields.NONE.with(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds));
    }

    /** One request's way through the app: everything but {@link #ready}/{@link #refused} runs on the request's loop. */
    private final class Waiting implements AppWaiter, Withdrawal, Resume {
        private final AppSupervisor app;
        private final Route route;
        private final Cluster cluster;
        private final Request request;
        private final Resume resume;
        private AppSupervisor.Hold hold;
        private ScheduledFuture<?> timeout;
        /** The next admission's wait, once the app let the request through and the cluster queued it. */
        private Withdrawal queued;
        private boolean withdrawn;
        /** The app's place in flight, once taken, is given back once: at the end, on a refusal, or when the client leaves. */
        private boolean inApp;
        /** When its hold would have run out, once it was held: its wait in the cluster's queue may last until then. */
        private long holdEndsNanos;

        Waiting(AppSupervisor app, Route route, Cluster cluster, Request request, Resume resume) {
            this.app = app;
            this.route = route;
            this.cluster = cluster;
            this.request = request;
            this.resume = resume;
        }

        /** On the request's loop: the app's answer, then the cluster's. */
        Decision admit() {
            return switch (app.admit(this)) {
                case AppSupervisor.Admit.Go go -> {
                    inApp = true;
                    yield onward();
                }
                case AppSupervisor.Admit.Refused refused -> new Decision.Refused(refused.kind(),
                        retryAfter(refused.retryAfterSeconds()));
                case AppSupervisor.Admit.Held held -> {
                    hold = held.hold();
                    long now = nanoClock.getAsLong();
                    long wait = Math.min(app.config().holdTimeout().toNanos(), Math.max(0, resume.deadlineNanos() - now));
                    holdEndsNanos = holdEndsNanos == 0 ? now + wait : holdEndsNanos;
                    timeout = resume.loop().schedule(this::timedOut, wait, TimeUnit.NANOSECONDS);
                    yield new Decision.Queued(this);
                }
            };
        }

        /** Past the app (its place in flight taken): on to the cluster's concurrency, holding the app's place until the end. */
        private Decision onward() {
            return switch (next.admit(route, cluster, request, this)) {
                case Decision.Admitted admitted -> new Decision.Admitted(withApp(admitted.ticket()));
                case Decision.Refused refused -> {
                    leaveApp();
                    yield refused;
                }
                case Decision.Queued q -> {
                    queued = q.withdrawal();
                    yield new Decision.Queued(this);
                }
            };
        }

        private Ticket withApp(Ticket inner) {
            return (admittedNanos, now, failed) -> {
                inner.release(admittedNanos, now, failed);
                leaveApp();
            };
        }

        private void leaveApp() {
            if (inApp) {
                inApp = false;
                app.exit();
            }
        }

        private void timedOut() {
            if (hold.withdraw()) {
                hold = null;
                resume.refused(FailureKind.APP_STARTING_TIMEOUT, retryAfter(1));
            }
        }

        /** On the app's thread: it is ready. The request goes on, on its own loop. */
        @Override
        public void ready() {
            resume.loop().execute(() -> {
                timeout.cancel(false);
                hold = null;
                if (withdrawn) {
                    return;
                }
                switch (admit()) {
                    case Decision.Admitted admitted -> resume.admitted(admitted.ticket());
                    case Decision.Refused refused -> resume.refused(refused.kind(), refused.fields());
                    case Decision.Queued waitingAgain -> { } // Held again, or queued by the cluster: resumed from there.
                }
            });
        }

        /** On the app's thread: its start failed. */
        @Override
        public void refused(FailureKind kind, long retryAfterSeconds) {
            resume.loop().execute(() -> {
                timeout.cancel(false);
                hold = null;
                if (!withdrawn) {
                    resume.refused(kind, retryAfter(retryAfterSeconds));
                }
            });
        }

        /** On the request's loop: its client left. */
        @Override
        public void withdraw() {
            withdrawn = true;
            if (queued != null) {
                // If the cluster was already handing it a slot, that comes back through admitted() and its ticket.
                queued.withdraw();
                leaveApp();
                return;
            }
            if (hold != null && hold.withdraw()) {
                timeout.cancel(false);
            }
        }

        // As the next admission's Resume: its outcome, with the app's place added or given back.
        @Override
        public io.netty.channel.EventLoop loop() {
            return resume.loop();
        }

        @Override
        public long deadlineNanos() {
            return resume.deadlineNanos();
        }

        /**
         * A cold app's backlog is let out at the cluster's concurrency, all at once: a request held
         * through the start waits in the cluster's queue for what is left of its hold, not just
         * {@code queue_timeout}, or most of a burst on a stopped app would be shed the moment it became ready.
         */
        @Override
        public long queueTimeoutNanos(long configured, long now) {
            return Math.max(resume.queueTimeoutNanos(configured, now), holdEndsNanos - now);
        }

        @Override
        public void admitted(Ticket ticket) {
            resume.admitted(withApp(ticket));
        }

        @Override
        public void refused(FailureKind kind, ReplyFields fields) {
            leaveApp();
            resume.refused(kind, fields);
        }
    }
}
