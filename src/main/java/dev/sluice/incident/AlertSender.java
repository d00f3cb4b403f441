package dev.sluice.incident;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.AlertsConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers incident alerts to {@code alerts.webhook} on a thread of its own ({@code sluice-alerts}):
 * a signed JSON {@code POST} per opened or closed incident ({@link AlertSignature}), retried with
 * backoff while the receiver is down or answers 5xx, in the order they happened. Nothing waits for
 * it: {@link #send} only offers to a bounded queue, and when the queue is full the oldest alert is
 * dropped (and counted) to make room, since the newest says how things are now.
 */
public final class AlertSender implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertSender.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** 64 alerts: 32 incidents opened and closed while the receiver is down; more is an alert storm. */
    static final int QUEUE = 64;
    /** 6 tries over about a minute (1, 2, 4, 8, 16 s apart): a receiver restarting comes back within it. */
    static final int TRIES = 6;
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    /** 10 s per try: a receiver slower than that is down, and the next try will say so. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Supplier<Optional<AlertsConfig>> config;
    private final Clock clock;
    private final Duration firstBackoff;
    private final BlockingQueue<Incidents.Notice> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    /** Made on the alert thread at the first alert: building one loads TLS and costs seconds at a busy start. */
    private HttpClient http;
    private Thread thread;
    private volatile boolean closed;

    public AlertSender(Supplier<Optional<AlertsConfig>> config, Clock clock) {
        this(config, clock, FIRST_BACKOFF);
    }

    AlertSender(Supplier<Optional<AlertsConfig>> config, Clock clock, Duration firstBackoff) {
        this.config = config;
        this.clock = clock;
        this.firstBackoff = firstBackoff;
    }

    /** Queues an alert for {@code notice} when alerts are configured; never blocks. */
    public void send(Incidents.Notice notice) {
        if (config.get().isEmpty() || closed) {
            return;
        }
        startOnce();
        while (!queue.offer(notice)) {
            if (queue.poll() != null && dropped.incrementAndGet() == 1) {
                LOG.warn("alerts: the queue of {} is full (the webhook is down or slow); dropping the oldest", QUEUE);
            }
        }
    }

    /** The thread, at the first alert: an instance without alerts (or incidents) never starts it. */
    private synchronized void startOnce() {
        if (thread == null && !closed) {
            thread = Thread.ofPlatform().daemon().name("sluice-alerts").start(this::run);
        }
    }

    public long dropped() {
        return dropped.get();
    }

    public long delivered() {
        return delivered.get();
    }

    public long failed() {
        return failed.get();
    }

    private void run() {
        http = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
        while (!closed) {
            Incidents.Notice notice;
            try {
                notice = queue.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (notice != null) {
                deliver(notice);
            }
        }
        http.close();
    }

    private void deliver(Incidents.Notice notice) {
        byte[] body;
        try {
            Map<String, Object> payload = new LinkedHashMap<>();
            payload.put("event", notice.event());
            payload.put("summary", notice.line());
            payload.put("incident", notice.incident());
            body = JSON.writeValueAsBytes(payload);
        } catch (IOException e) {
            LOG.error("alerts: cannot render incident {}: {}", notice.id(), e.toString());
            return;
        }
        Duration backoff = firstBackoff;
        String last = "";
        for (int attempt = 1; attempt <= TRIES && !closed; attempt++) {
            Optional<AlertsConfig> target = config.get();
            if (target.isEmpty()) {
                return;
            }
            last = post(target.get(), notice, body);
            if (last.isEmpty()) {
                delivered.incrementAndGet();
                return;
            }
            if (last.startsWith("refused")) {
                break;
            }
            if (attempt < TRIES) {
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                backoff = backoff.multipliedBy(2);
            }
        }
        failed.incrementAndGet();
        if (!closed) {
            LOG.warn("alerts: gave up on the {} alert of incident {}: {}", notice.event(), notice.id(), last);
        }
    }

    /** One POST: empty when delivered, else why not ("refused ..." when trying again cannot help). */
    private String post(AlertsConfig target, Incidents.Notice notice, byte[] body) {
        long now = clock.instant().getEpochSecond();
        HttpRequest request = HttpRequest.newBuilder(target.webhook()).timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .header("User-Agent", "sluice-alerts")
                .header("X-Sluice-Event", notice.event())
                // The same id on every try: a receiver that got a try whose answer was lost can tell.
                .header("X-Sluice-Delivery", "incident-" + notice.id() + "-" + notice.event())
                .header(AlertSignature.TIMESTAMP_HEADER, Long.toString(now))
                .header(AlertSignature.SIGNATURE_HEADER, AlertSignature.sign(target.secret(), now, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status / 100 == 2) {
                return "";
            }
            // 408 and 429 say "later"; other 4xx say the receiver will never take it (a wrong
            // secret, path or payload), which no retry changes.
            boolean later = status >= 500 || status == 408 || status == 429;
            return (later ? "" : "refused: ") + URI.create(target.webhook().toString()).getHost() + " answered " + status;
        } catch (IOException e) {
            return "cannot reach " + target.webhook().getHost() + ": " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
