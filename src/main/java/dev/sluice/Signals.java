package dev.sluice;

import sun.misc.Signal;

/**
 * POSIX signals: TERM and INT stop the process cleanly (exit 0, not the JVM's 143), HUP reloads.
 * Handlers run on the JVM's signal thread and must only hand work over.
 */
final class Signals {
    private Signals() {}

    static void onTerminate(Runnable action) {
        Signal.handle(new Signal("TERM"), s -> action.run());
        Signal.handle(new Signal("INT"), s -> action.run());
    }

    static void onHangup(Runnable action) {
        Signal.handle(new Signal("HUP"), s -> action.run());
    }
}
