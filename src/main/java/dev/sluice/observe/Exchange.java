package dev.sluice.observe;

import dev.sluice.failure.FailureKind;
import java.util.ArrayList;
import java.util.List;

/**
 * One request through the gateway: its timeline (nanoTime marks, 0 while not reached), its
 * attempts, and its outcome. Written by the downstream connection's event loop only; the access
 * log and metrics are produced from it once, when it ends.
 */
public final class Exchange {
    /** One try at an endpoint. */
    public record Attempt(String endpoint, boolean reused, long idleMillis, long connectNanos, FailureKind failure,
                          String decision) {}

    public final long startEpochMillis;
    public final long acceptedNanos;
    public String requestId;
    public String client;
    public String method;
    public String host;
    public String uri;
    public String protocol;
    public String route;
    public String cluster;
    public String endpoint;
    public int status;
    public int upstreamStatus;
    public FailureKind failure;
    /** The client went away before the response was complete. */
    public boolean clientAborted;
    public boolean connectionReused;
    public long connectionIdleMillis = -1;
    public long connectNanos;
    public long requestSentNanos;
    public long doneNanos;
    public long bytesIn;
    public long bytesOut;
    private List<Attempt> attempts;

    public Exchange(long startEpochMillis, long acceptedNanos) {
        this.startEpochMillis = startEpochMillis;
        this.acceptedNanos = acceptedNanos;
    }

    public void addAttempt(Attempt attempt) {
        if (attempts == null) {
            attempts = new ArrayList<>(2);
        }
        attempts.add(attempt);
    }

    public List<Attempt> attempts() {
        return attempts == null ? List.of() : attempts;
    }

    public long totalNanos() {
        return doneNanos == 0 ? 0 : doneNanos - acceptedNanos;
    }

    /** From the request's last byte reaching the endpoint to the response's last byte, or 0. */
    public long upstreamNanos() {
        return requestSentNanos == 0 || doneNanos == 0 ? 0 : doneNanos - requestSentNanos;
    }
}
