package dev.sluice.apps;

import java.util.Locale;

/**
 * Where an app's process is, as its supervisor knows it: the only thing a start is decided by.
 *
 * <pre>
 * STOPPED ──request (or start: always)──► STARTING ──readiness check passes──► READY
 *    ▲                                       │ exits, or not ready in time         │ exits
 *    │                                       ▼                                     ▼
 *    └──── SIGTERM … SIGKILL ◄── STOPPING    EXITED (one failure) / CRASH_LOOP (two or more in a row)
 *          (idle, admin, drain)              └──request after the backoff──► STARTING
 * </pre>
 */
public enum AppState {
    /** Not running: never started, or stopped by Sluice (idle, admin, reload). A request starts it. */
    STOPPED,
    /** Its process runs and has yet to pass the readiness check; requests wait in the hold queue. */
    STARTING,
    /** Its process runs and passed the readiness check: requests go to it. */
    READY,
    /** Sluice asked it to stop (SIGTERM, then SIGKILL after {@code stop_grace}). */
    STOPPING,
    /** It exited on its own, or failed to start, once: the next request starts it after the backoff. */
    EXITED,
    /** It failed twice or more in a row: requests are refused until the backoff between starts has passed. */
    CRASH_LOOP;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The snake_case name in {@code /apps}, {@code /status} and the metrics. */
    public String label() {
        return label;
    }

    /** True while a process of the app may be alive. */
    public boolean processAlive() {
        return this == STARTING || this == READY || this == STOPPING;
    }
}
