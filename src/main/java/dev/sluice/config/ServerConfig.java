package dev.sluice.config;

/**
 * Process-wide data-plane settings ({@code server:} in the file).
 *
 * @param eventLoopThreads event-loop threads shared by every listener and upstream connection;
 *     0 means one per available core (a proxy is I/O bound and each loop owns its connections,
 *     so more loops than cores only adds context switches)
 */
public record ServerConfig(int eventLoopThreads) {
    public static final ServerConfig DEFAULT = new ServerConfig(0);

    public int effectiveEventLoopThreads() {
        return eventLoopThreads > 0 ? eventLoopThreads : Runtime.getRuntime().availableProcessors();
    }
}
