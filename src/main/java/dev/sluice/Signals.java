package dev.sluice;

import java.util.function.Consumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * POSIX signals: TERM and INT start a graceful drain (then exit 0, not the JVM's 143), HUP
 * reloads, USR1 reopens the access log file. Handlers run on the JVM's signal thread and must
 * only hand work over.
 */
final class Signals {
    private Signals() {}

    /** {@code action} gets the signal's name, {@code SIGTERM} or {@code SIGINT}. */
    static void onTerminate(Consumer<String> action) {
        Signal.handle(new Signal("TERM"), s -> action.accept("SIGTERM"));
        Signal.handle(new Signal("INT"), s -> action.accept("SIGINT"));
    }

    /**
     * Returns false when HUP is ignored by this process (started under {@code nohup}, say): the
     * JVM then leaves it ignored, and reloads must go through {@code POST /reload}.
     */
    static boolean onHangup(Runnable action) {
        return Signal.handle(new Signal("HUP"), s -> action.run()) != SignalHandler.SIG_IGN;
    }

    /** USR1: what logrotate's {@code postrotate} sends, as to nginx, to have log files reopened. */
    static void onUser1(Runnable action) {
        Signal.handle(new Signal("USR1"), s -> action.run());
    }
}
