package dev.sluice.replay;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;

/** How far a replay is, for a person watching: a bar redrawn on a terminal, or nothing at all. */
interface Progress {
    Progress NONE = new Progress() {
        @Override
        public void start(int total) {}

        @Override
        public void done() {}

        @Override
        public void finish() {}
    };

    void start(int total);

    /** One request answered, failed or skipped; called from any thread, and must be cheap. */
    void done();

    void finish();

    /**
     * A bar on {@code out} (stderr, so stdout stays the report), redrawn in place five times a
     * second by its own thread: the requests' threads only count.
     */
    static Progress bar(PrintStream out) {
        return new Progress() {
            private final AtomicInteger done = new AtomicInteger();
            private volatile int total;
            private Thread drawer;

            @Override
            public void start(int total) {
                this.total = total;
                long began = System.nanoTime();
                drawer = Thread.ofPlatform().daemon().name("sluice-replay-progress").start(() -> {
                    try {
                        while (!Thread.currentThread().isInterrupted()) {
                            draw(began);
                            Thread.sleep(200);
                        }
                    } catch (InterruptedException finished) {
                        Thread.currentThread().interrupt();
                    }
                });
            }

            @Override
            public void done() {
                done.incrementAndGet();
            }

            @Override
            public void finish() {
                if (drawer != null) {
                    drawer.interrupt();
                    try {
                        drawer.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                out.print("\r\033[K");
                out.flush();
            }

            private void draw(long began) {
                int n = done.get();
                int width = 40;
                int filled = total == 0 ? width : (int) ((long) n * width / total);
                double seconds = (System.nanoTime() - began) / 1e9;
                out.printf("\r[%s%s] %d/%d  %.0f req/s\033[K", "#".repeat(filled), " ".repeat(width - filled), n,
                        total, seconds > 0 ? n / seconds : 0.0);
                out.flush();
            }
        };
    }
}
