package dev.sluice.apps;

import dev.sluice.failure.FailureKind;

/** A request held while its app starts: told once, on the supervisor's thread, how the wait ended. */
public interface AppWaiter {
    /** The app passed its readiness check: the request may go on (hand it back to its own event loop). */
    void ready();

    /** The start failed (the app exited or was not ready in time): refuse the request. */
    void refused(FailureKind kind, long retryAfterSeconds);
}
