package dev.sluice.exchange;

import dev.sluice.config.MirrorConfig;
import dev.sluice.exchange.RouteTaps.MirrorOutcome;
import dev.sluice.http.BodyFraming;
import dev.sluice.http.ReceivedRequest;
import dev.sluice.observe.RequestLog;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.upstream.UpstreamListener;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One sampled request's copy on its way to the route's mirror cluster, fire and forget, on the
 * request's own event loop. The primary request never waits for it: the copy gets duplicates of
 * the body parts as they pass ({@link #part}, retained, never copied or awaited), its own
 * connection from the mirror cluster's pools, and its answer is read and dropped. It ends in
 * exactly one {@link MirrorOutcome}, counted, and gives its in-flight place back then.
 *
 * <p>Life: sampled when the request is routed (parts held from then on, up to {@code max_body}),
 * sent when the request is admitted ({@link #start}, with the head as forwarded), done when the
 * mirror's response ends, fails, or its {@code timeout} passes; cut when the client's request
 * ends before its body did.
 */
final class MirrorCopy implements UpstreamListener {
    /** Set on every copy so staging can tell a copy from a request of its own. */
    static final AsciiString X_SLUICE_MIRROR = AsciiString.cached("x-sluice-mirror");

    private enum State { SAMPLED, CONNECTING, SENDING, DONE }

    private final ExchangeContext context;
    private final MirrorConfig config;
    private final RouteTaps counts;
    /** The client's request's log: its {@code mirror} says what became of the copy while the request lasts. */
    private final RequestLog log;
    private State state = State.SAMPLED;
    /** Duplicates of the body parts that came before the copy had a connection. */
    private ArrayDeque<HttpContent> held;
    private long bodyBytes;
    private boolean bodyComplete;
    private boolean placeTaken;
    private Cluster cluster;
    private UpstreamConnection connection;
    private boolean requestWritten;
    private boolean finalHead;
    private int status;
    private boolean reusable;
    /** The copy is a HEAD: its answer has no body whatever its framing says. */
    private boolean headRequest;
    private io.netty.util.concurrent.ScheduledFuture<?> timeout;

    private MirrorCopy(ExchangeContext context, MirrorConfig config, RouteTaps counts, RequestLog log) {
        this.context = context;
        this.config = config;
        this.counts = counts;
        this.log = log;
        // Until it is sent (or dropped): a request never forwarded is logged so.
        log.mirror(MirrorOutcome.NOT_FORWARDED.label());
    }

    /**
     * A copy of {@code request}, sampled in; none when its {@code Content-Length} is over the
     * mirror's {@code max_body} (counted {@code too_large}: a body is never half mirrored when
     * its size is known).
     */
    static java.util.Optional<MirrorCopy> sampled(ExchangeContext context, MirrorConfig config, RouteTaps counts,
                                                  HttpRequest request, boolean bodyless, RequestLog log) {
        if (!bodyless && HttpUtil.getContentLength(request, -1L) > config.maxBody()) {
            counts.count(MirrorOutcome.TOO_LARGE);
            log.mirror(MirrorOutcome.TOO_LARGE.label());
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new MirrorCopy(context, config, counts, log));
    }

    /** A part of the client's body; the caller keeps its own reference (the copy takes a duplicate). */
    void part(HttpContent part, boolean last) {
        if (state == State.DONE) {
            return;
        }
        bodyBytes += part.content().readableBytes();
        if (bodyBytes > config.maxBody()) {
            // A chunked body grew past max_body: the mirror's half request is cut with its connection.
            finish(MirrorOutcome.TOO_LARGE);
            log.mirror(MirrorOutcome.TOO_LARGE.label());
            return;
        }
        bodyComplete = last;
        HttpContent copy = part.retainedDuplicate();
        if (state == State.SENDING) {
            write(copy, last);
            connection.flush();
        } else {
            if (held == null) {
                held = new ArrayDeque<>(2);
            }
            held.add(copy);
        }
    }

    /** The request was admitted and is forwarded as {@code forwarded}: the copy goes out now, or is dropped. */
    void start(HttpRequest forwarded, long now) {
        if (state != State.SAMPLED) {
            return;
        }
        if (!counts.takeMirrorPlace(config.maxInFlight())) {
            finish(MirrorOutcome.DROPPED_BUSY);
            log.mirror(MirrorOutcome.DROPPED_BUSY.label());
            return;
        }
        placeTaken = true;
        cluster = context.snapshot().clusters().get(config.cluster());
        Endpoint endpoint = cluster == null ? null : cluster.pick(0, now);
        // A mirror never panics: when staging has nothing healthy (down, ejected after failed
        // copies), copies are dropped without a connect, so a down staging costs nothing per request.
        if (endpoint == null || endpoint.isEjected(now) || endpoint.health() != Endpoint.Health.HEALTHY) {
            finish(MirrorOutcome.DROPPED_NO_ENDPOINT);
            log.mirror(MirrorOutcome.DROPPED_NO_ENDPOINT.label());
            return;
        }
        counts.countSent();
        log.mirror(RouteTaps.SENT);
        HttpRequest head = head(forwarded, endpoint.address(), config.hostSuffix());
        headRequest = HttpMethod.HEAD.equals(forwarded.method());
        timeout = context.loop().schedule(() -> {
            if (state != State.DONE) {
                finish(MirrorOutcome.TIMED_OUT);
            }
        }, config.timeout().toNanos(), TimeUnit.NANOSECONDS);
        state = State.CONNECTING;
        UpstreamConnection pooled = context.pools().pool(endpoint, cluster.config().maxIdlePerEndpoint()).acquire(now);
        if (pooled != null) {
            bind(pooled, head);
            return;
        }
        int connectMillis = (int) Math.min(Integer.MAX_VALUE, cluster.config().connectTimeout().toMillis());
        context.connector().connect(context.loop(), endpoint, connectMillis)
                .addListener((Future<UpstreamConnection> f) -> {
                    if (state == State.DONE) {
                        if (f.isSuccess()) {
                            f.getNow().close();
                        }
                    } else if (f.isSuccess()) {
                        bind(f.getNow(), head);
                    } else {
                        // Passive health, as for any request: five refused copies in a row eject the endpoint.
                        endpoint.recordFailure(context.nanoTime(), cluster.mayEject(context.nanoTime()));
                        finish(MirrorOutcome.FAILED);
                    }
                });
    }

    /**
     * The copy's head: the request as forwarded to the primary, its {@code Host} with the suffix
     * (before the port, as Envoy does: {@code api.example:8080} → {@code api.example-shadow:8080};
     * the endpoint's address for a request without one), {@code x-sluice-mirror: 1}, no {@code Expect}.
     */
    static HttpRequest head(HttpRequest forwarded, String endpointAuthority, String suffix) {
        HttpHeaders headers = forwarded instanceof ReceivedRequest received ? received.fieldsCopy()
                : forwarded.headers().copy();
        String host = headers.get(HttpHeaderNames.HOST);
        headers.set(HttpHeaderNames.HOST, withSuffix(host == null || host.isEmpty() ? endpointAuthority : host, suffix));
        headers.set(X_SLUICE_MIRROR, "1");
        // Sluice answers 100-continue itself; the copy's body follows its head at once.
        headers.remove(HttpHeaderNames.EXPECT);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, forwarded.method(), forwarded.uri(), headers);
    }

    /** {@code authority} with {@code suffix} after its host, before its port. */
    static String withSuffix(String authority, String suffix) {
        int colon = authority.lastIndexOf(':');
        boolean hasPort = colon > authority.lastIndexOf(']') && (authority.startsWith("[") || authority.indexOf(':') == colon);
        return hasPort ? authority.substring(0, colon) + suffix + authority.substring(colon) : authority + suffix;
    }

    private void bind(UpstreamConnection c, HttpRequest head) {
        connection = c;
        c.attach(this);
        c.endpoint().attemptStarted();
        state = State.SENDING;
        ChannelPromise written = c.channel().newPromise();
        written.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess() && connection == c) {
                finish(MirrorOutcome.FAILED);
            }
        });
        c.write(head, written);
        HttpContent part;
        while (held != null && (part = held.poll()) != null) {
            write(part, part instanceof LastHttpContent);
        }
        c.flush();
        if (!c.channel().config().isAutoRead()) {
            c.channel().config().setAutoRead(true);
        }
    }

    private void write(HttpContent part, boolean last) {
        UpstreamConnection c = connection;
        if (!last) {
            c.write(part);
            return;
        }
        ChannelPromise sent = c.channel().newPromise();
        sent.addListener((ChannelFutureListener) f -> {
            if (f.isSuccess() && connection == c) {
                requestWritten = true;
            }
        });
        c.write(part, sent);
    }

    /** The client's request ended (answered, refused, cut, or its client left): a copy whose body is incomplete is cut. */
    void primaryEnded() {
        if (state == State.SAMPLED) {
            // Never forwarded: nothing was sent and no place taken; the held parts go.
            state = State.DONE;
            counts.count(MirrorOutcome.NOT_FORWARDED);
            releaseHeld();
        } else if (state != State.DONE && !bodyComplete) {
            finish(MirrorOutcome.CUT);
        }
    }

    @Override
    public void onResponseObject(UpstreamConnection c, Object message) {
        try {
            if (c != connection || state == State.DONE) {
                return;
            }
            if (message instanceof HttpResponse response) {
                if (response.decoderResult().isFailure()) {
                    finish(MirrorOutcome.FAILED);
                    return;
                }
                status = response.status().code();
                finalHead = status >= 200;
                if (finalHead) {
                    reusable = HttpUtil.isKeepAlive(response)
                            && !BodyFraming.closeDelimited(response, headRequest);
                }
            }
            if (message instanceof HttpContent content) {
                if (content.decoderResult().isFailure()) {
                    finish(MirrorOutcome.FAILED);
                } else if (content instanceof LastHttpContent && finalHead) {
                    finish(MirrorOutcome.ANSWERED);
                }
            }
        } finally {
            ReferenceCountUtil.release(message);
        }
    }

    @Override
    public void onUpstreamReadComplete(UpstreamConnection c) {
    }

    @Override
    public void onUpstreamWritabilityChanged(UpstreamConnection c) {
        // Never read back into the client: the copy holds at most max_body, so it needs no backpressure of its own.
    }

    @Override
    public void onUpstreamClosed(UpstreamConnection c, Throwable cause) {
        if (c == connection && state != State.DONE) {
            finish(MirrorOutcome.FAILED);
        }
    }

    private void finish(MirrorOutcome outcome) {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        counts.count(outcome);
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (placeTaken) {
            placeTaken = false;
            counts.giveMirrorPlace();
        }
        releaseHeld();
        UpstreamConnection c = connection;
        if (c != null) {
            connection = null;
            c.endpoint().attemptEnded();
            c.detach();
            long now = context.nanoTime();
            if (outcome == MirrorOutcome.ANSWERED) {
                c.endpoint().recordSuccess();
                counts.countAnswer(status);
            }
            if (outcome == MirrorOutcome.ANSWERED && reusable && requestWritten) {
                context.pools().pool(c.endpoint(), cluster.config().maxIdlePerEndpoint())
                        .release(c, now, c.idleTimeoutNanos(cluster.config()));
            } else {
                c.close();
            }
        }
    }

    private void releaseHeld() {
        HttpContent part;
        while (held != null && (part = held.poll()) != null) {
            ReferenceCountUtil.release(part);
        }
    }
}
