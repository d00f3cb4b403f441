package dev.sluice.apps;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Signals to a whole process group: an app's workers (gunicorn's, uwsgi's) are its children in the
 * group its {@code setsid} made, and a signal to the group reaches those a crashed master left too.
 * Java can signal one process only, so this runs {@code kill -s SIG -- -PGID} (one kill(2) on the group).
 */
final class Signals {
    private Signals() {}

    /** Sends {@code signal} (TERM, KILL) to process group {@code group}; false when there was none left. */
    static boolean group(long group, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, "--", "-" + group)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return kill.waitFor(5, TimeUnit.SECONDS) && kill.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
