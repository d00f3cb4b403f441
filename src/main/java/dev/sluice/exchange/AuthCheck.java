package dev.sluice.exchange;

import dev.sluice.config.ForwardAuthConfig;
import dev.sluice.config.HostPort;
import dev.sluice.failure.FailureKind;
import dev.sluice.failure.ReplyFields;
import dev.sluice.http.BodyFraming;
import dev.sluice.http.KeepAlive;
import dev.sluice.http.ReceivedResponse;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.UpstreamConnection;
import dev.sluice.upstream.UpstreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
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
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward-auth step: one request's check by its route's auth service, a {@code GET} of
 * {@code forward_auth}'s path with the client's fields and {@code X-Forwarded-Method/-Proto/-Host/-Uri/-For}
 * (as Traefik sends them), never the body. It runs on the request's event loop through the same
 * pick, pools and connector as a forwarded request. It decides in the access step's terms
 * ({@link AccessCheck.Decision}), once, through its {@link Answer}: a 2xx is {@code Allowed}, with
 * {@code response_headers} copied onto the request; a 5xx, a refused or reset connection or a
 * malformed answer is {@code Refused(auth_unavailable)}; no answer within {@code timeout} is
 * {@code Refused(auth_timeout)}; any other answer (401, 403, a redirect to a login page) is
 * {@code Denied}: the client gets it, read whole first (at most {@link #MAX_DENIAL_BODY}), so an
 * auth service that dies midway gives a clean 503. Fail closed: nothing but a 2xx lets the
 * request on.
 *
 * <p>A check that meets a pooled connection the service had closed (the keep-alive race) is sent
 * once more on a new one: a check has no body and no effect, so that is always safe. After a 2xx
 * the rest of its body is read and dropped, so the connection goes back to the pool, while the
 * request goes on. {@link #withdraw} (the client left) closes what is open.
 */
final class AuthCheck implements UpstreamListener, Admission.Withdrawal {
    private static final Logger LOG = LoggerFactory.getLogger(AuthCheck.class);
    /** 64 KiB: a login page or a JSON error is a few KiB; more is not an answer to pass on as a denial. */
    static final int MAX_DENIAL_BODY = 64 * 1024;
    static final AsciiString X_FORWARDED_METHOD = AsciiString.cached("x-forwarded-method");
    static final AsciiString X_FORWARDED_URI = AsciiString.cached("x-forwarded-uri");

    /** Where the check's decision goes, once, on the request's loop. */
    interface Answer {
        void authDecided(AccessCheck.Decision decision);
    }

    private static final AccessCheck.Decision ALLOWED = new AccessCheck.Decision.Allowed(ReplyFields.NONE);

    private enum State { ASKING, DENYING, DRAINING, DONE }

    private final ExchangeContext context;
    private final Answer answer;
    private final ForwardAuthConfig config;
    private final Cluster cluster;
    private State state = State.ASKING;
    private Endpoint endpoint;
    private UpstreamConnection connection;
    private boolean reused;
    private boolean resent;
    private boolean awaitingFinalAfterInterim;
    private boolean reusable;
    private HttpRequest request;
    private HttpRequest check;
    private HttpResponse deniedHead;
    private CompositeByteBuf deniedBody;
    private ScheduledFuture<?> timer;

    AuthCheck(ExchangeContext context, Answer answer, ForwardAuthConfig config, Cluster cluster) {
        this.context = context;
        this.answer = answer;
        this.config = config;
        this.cluster = cluster;
    }

    /**
     * Asks the service about {@code request}: {@code Pending} while it does (the decision comes
     * through the {@link Answer}), or {@code Refused(auth_unavailable)} at once when the service
     * has no endpoint to ask.
     *
     * @param client the client's address, as the request's {@code X-Forwarded-For} will name it
     * @param trusted whether the peer is a trusted proxy, whose {@code X-Forwarded-*} are believed
     * @param https the client came over TLS: {@code X-Forwarded-Proto: https}
     */
    AccessCheck.Decision start(HttpRequest request, String requestId, String client, boolean trusted, boolean https,
                               long now) {
        switch (Pick.next(cluster, 0, 0, null, now)) {
            case Pick.None none -> {
                state = State.DONE;
                return new AccessCheck.Decision.Refused(FailureKind.AUTH_UNAVAILABLE, ReplyFields.NONE);
            }
            case Pick.To to -> endpoint = to.endpoint();
        }
        this.request = request;
        check = checkRequest(request, config, requestId, client, trusted, https,
                authority(config.service(), endpoint));
        timer = context.loop().schedule(this::timedOut, config.timeout().toNanos(), TimeUnit.NANOSECONDS);
        attempt(false, now);
        return new AccessCheck.Decision.Pending(this);
    }

    /**
     * The check's head: the client's fields ({@code request_headers}, or all but those that frame
     * a body, describe a connection or name the host), then Sluice's {@code X-Forwarded-*} as the
     * backend would get them, the method and target the client asked for, and the request id.
     */
    static HttpRequest checkRequest(HttpRequest request, ForwardAuthConfig config, String requestId, String client,
                                    boolean trusted, boolean https, String authority) {
        HttpHeaders from = request.headers();
        HttpHeaders to = new DefaultHttpHeaders();
        if (config.requestHeaders().isPresent()) {
            for (String name : config.requestHeaders().get()) {
                to.add(name, from.getAll(name));
            }
        } else {
            for (Map.Entry<String, String> field : from) {
                String name = field.getKey();
                if (!HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)
                        && !HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(name)
                        && !HttpHeaderNames.EXPECT.contentEqualsIgnoreCase(name)
                        && !HttpHeaderNames.HOST.contentEqualsIgnoreCase(name)
                        && !HeaderPolicy.X_FORWARDED_FOR.contentEqualsIgnoreCase(name)
                        && !HeaderPolicy.X_FORWARDED_PROTO.contentEqualsIgnoreCase(name)
                        && !HeaderPolicy.X_FORWARDED_HOST.contentEqualsIgnoreCase(name)
                        && !HeaderPolicy.X_REQUEST_ID.contentEqualsIgnoreCase(name)) {
                    to.add(name, field.getValue());
                }
            }
            // Connection and the fields it names, Keep-Alive, TE, …: they describe the client's connection.
            HeaderPolicy.removeHopByHop(to);
        }
        if (trusted) {
            // What a trusted proxy said is believed and appended to, as for the backend (HeaderPolicy.setForwarded).
            for (AsciiString name : List.of(HeaderPolicy.X_FORWARDED_FOR, HeaderPolicy.X_FORWARDED_PROTO,
                    HeaderPolicy.X_FORWARDED_HOST)) {
                to.set(name, from.getAll(name));
            }
        }
        String host = from.get(HttpHeaderNames.HOST);
        if (host != null) {
            to.set(HttpHeaderNames.HOST, host);
        }
        HeaderPolicy.setForwarded(to, client, trusted, https);
        to.set(X_FORWARDED_METHOD, request.method().name());
        to.set(X_FORWARDED_URI, request.uri());
        to.set(HeaderPolicy.X_REQUEST_ID, requestId);
        to.set(HttpHeaderNames.HOST, authority);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, config.target(), to);
    }

    /** The check's {@code Host}: the url's authority as a client would send it, or the cluster endpoint's address. */
    static String authority(ForwardAuthConfig.Service service, Endpoint endpoint) {
        if (service instanceof ForwardAuthConfig.Url url) {
            HostPort address = url.address();
            String host = address.host().indexOf(':') >= 0 ? "[" + address.host() + "]" : address.host();
            return address.port() == 80 ? host : host + ":" + address.port();
        }
        return endpoint.address();
    }

    private void attempt(boolean fresh, long now) {
        var pool = context.pools().pool(endpoint, cluster.config().maxIdlePerEndpoint());
        switch (Acquire.from(pool, endpoint, fresh, true, now)) {
            case Acquire.Pooled pooled -> send(pooled.connection(), true);
            case Acquire.Connect connect -> {
                int timeoutMillis = (int) Math.min(cluster.config().connectTimeout().toMillis(),
                        config.timeout().toMillis());
                context.connector().connect(context.loop(), endpoint, timeoutMillis, cluster.tls())
                        .addListener((Future<UpstreamConnection> f) -> connected(f));
            }
        }
    }

    private void connected(Future<UpstreamConnection> f) {
        if (state != State.ASKING) {
            // Timed out or cancelled while connecting.
            if (f.isSuccess()) {
                f.getNow().close();
            }
            return;
        }
        if (!f.isSuccess()) {
            LOG.debug("forward auth at {} failed to connect: {}", endpoint, f.cause().toString());
            failed(true);
            return;
        }
        send(f.getNow(), false);
    }

    private void send(UpstreamConnection connection, boolean reused) {
        this.connection = connection;
        this.reused = reused;
        connection.attach(this);
        endpoint.attemptStarted();
        ChannelPromise written = connection.channel().newPromise();
        written.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                lost(connection);
            }
        });
        // A copy: a check sent again must not find the head the encoder already consumed.
        connection.write(new DefaultHttpRequest(check.protocolVersion(), check.method(), check.uri(),
                check.headers().copy()), written);
        connection.flush();
        if (!connection.channel().config().isAutoRead()) {
            connection.channel().config().setAutoRead(true);
        }
    }

    /** The check's connection closed or failed before its answer was whole. */
    private void lost(UpstreamConnection lost) {
        if (lost != connection) {
            return;
        }
        dropConnection();
        if (state == State.ASKING && reused && !resent) {
            // The keep-alive race: the service closed the pooled connection as the check went out.
            resent = true;
            attempt(true, context.nanoTime());
            return;
        }
        if (state == State.ASKING || state == State.DENYING) {
            // Refused or reset before any answer counts against the endpoint; a cut answer does not.
            failed(state == State.ASKING);
        }
    }

    @Override
    public void onResponseObject(UpstreamConnection from, Object message) {
        if (from != connection) {
            ReferenceCountUtil.release(message);
            return;
        }
        if (message instanceof HttpResponse head) {
            head(head);
        } else if (message instanceof HttpContent part) {
            content(part);
        } else {
            ReferenceCountUtil.release(message);
        }
    }

    private void head(HttpResponse head) {
        if (head.decoderResult().isFailure() || state != State.ASKING) {
            ReferenceCountUtil.release(head);
            LOG.debug("forward auth at {} answered a malformed response", endpoint);
            failed(false);
            return;
        }
        int status = head.status().code();
        if (status < 200) {
            // 100 Continue or 103 Early Hints: the final answer follows (101 was never asked for).
            awaitingFinalAfterInterim = status != 101;
            if (status == 101) {
                failed(false);
            }
            return;
        }
        awaitingFinalAfterInterim = false;
        endpoint.recordSuccess();
        if (head instanceof ReceivedResponse raw && raw.verbatim()) {
            connection.learn(KeepAlive.parse(raw.keepAliveField()));
            reusable = raw.keepAlive();
        } else {
            connection.learn(KeepAlive.parse(head.headers().get(HttpHeaderNames.KEEP_ALIVE)));
            reusable = HttpUtil.isKeepAlive(head) && !BodyFraming.closeDelimited(head, false);
        }
        if (status < 300) {
            state = State.DRAINING;
            copyFields(head.headers(), request.headers());
            answer.authDecided(ALLOWED);
        } else if (status >= 500) {
            // The service failed to decide: Sluice says so (503), rather than pass on its error page.
            LOG.debug("forward auth at {} answered {}", endpoint, status);
            failed(false);
        } else {
            state = State.DENYING;
            deniedHead = head;
            deniedBody = connection.channel().alloc().compositeBuffer();
        }
    }

    private void content(HttpContent part) {
        if (awaitingFinalAfterInterim) {
            // The empty "last content" the decoder emits after each 1xx: not the answer's body.
            part.release();
            return;
        }
        if (part.decoderResult().isFailure()) {
            part.release();
            failed(false);
            return;
        }
        boolean last = part instanceof LastHttpContent;
        if (state == State.DENYING) {
            ByteBuf data = part.content();
            if (deniedBody.readableBytes() + data.readableBytes() > MAX_DENIAL_BODY) {
                part.release();
                LOG.debug("forward auth at {} answered a denial over {} bytes", endpoint, MAX_DENIAL_BODY);
                failed(false);
                return;
            }
            if (data.isReadable()) {
                deniedBody.addComponent(true, data.retain());
            }
            part.release();
            if (last) {
                FailureKind kind = kindOf(deniedHead.status().code());
                byte[] body = ByteBufUtil.getBytes(deniedBody);
                LocalAnswer denial = new LocalAnswer(denialHead(deniedHead, body.length, kind), body);
                releaseDenial();
                finished();
                answer.authDecided(new AccessCheck.Decision.Denied(kind, denial));
            }
            return;
        }
        part.release();
        if (last && state == State.DRAINING) {
            finished();
        }
    }

    /**
     * Sets {@code response_headers} of a 2xx answer on the forwarded request: the client's own of
     * those names are removed first, even when the answer has none, so a client cannot pose as a user.
     */
    private void copyFields(HttpHeaders answer, HttpHeaders forwarded) {
        for (String name : config.responseHeaders()) {
            forwarded.remove(name);
        }
        for (String name : config.responseHeaders()) {
            forwarded.add(name, answer.getAll(name));
        }
    }

    /** The name a denial is recorded under: 401 and 403 are the access step's own; others are the service's say. */
    static FailureKind kindOf(int status) {
        return switch (status) {
            case 401 -> FailureKind.UNAUTHENTICATED;
            case 403 -> FailureKind.ACCESS_DENIED;
            default -> FailureKind.AUTH_DENIED;
        };
    }

    /**
     * The head the client gets for a denial: the service's status and fields but those of its own
     * connection and framing, with the body's length, {@code Via} and Sluice's {@code x-sluice-error}
     * (the client can tell the gateway refused, and why, as for any refusal).
     */
    static HttpResponse denialHead(HttpResponse answer, int bodyLength, FailureKind kind) {
        HttpHeaders headers = answer.headers().copy();
        HeaderPolicy.removeHopByHop(headers);
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        int status = answer.status().code();
        if (status != 304) {
            // RFC 9110 §8.6: a 304 has no content, and its Content-Length would describe another response.
            headers.set(HttpHeaderNames.CONTENT_LENGTH, bodyLength);
        }
        HeaderPolicy.appendVia(headers);
        headers.set(dev.sluice.failure.LocalReply.ERROR_HEADER, kind.label());
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, answer.status(), headers);
    }

    private void timedOut() {
        timer = null;
        if (state == State.ASKING || state == State.DENYING) {
            LOG.debug("forward auth at {} gave no answer within {}", endpoint, config.timeout());
            decided(FailureKind.AUTH_TIMEOUT);
        } else if (state == State.DRAINING) {
            // The request went on long ago; only the rest of the 2xx's body is given up.
            state = State.DONE;
            closeConnection();
        }
    }

    /** No decision from the service; {@code endpointFault}: the endpoint could not be reached, which passive health counts. */
    private void failed(boolean endpointFault) {
        if (state == State.DRAINING) {
            state = State.DONE;
            closeConnection();
            return;
        }
        if (endpointFault) {
            long now = context.nanoTime();
            endpoint.recordFailure(now, cluster.mayEject(now));
        }
        decided(FailureKind.AUTH_UNAVAILABLE);
    }

    /** No decision from the service: Sluice refuses the request itself. */
    private void decided(FailureKind failure) {
        if (state == State.DONE) {
            return;
        }
        state = State.DONE;
        cancelTimer();
        closeConnection();
        releaseDenial();
        answer.authDecided(new AccessCheck.Decision.Refused(failure, ReplyFields.NONE));
    }

    /** The answer is whole: its connection goes back to the pool when it can. */
    private void finished() {
        state = State.DONE;
        cancelTimer();
        UpstreamConnection done = connection;
        if (done == null) {
            return;
        }
        dropConnection();
        long now = context.nanoTime();
        if (reusable) {
            context.pools().pool(endpoint, cluster.config().maxIdlePerEndpoint())
                    .release(done, now, done.idleTimeoutNanos(cluster.config()));
        } else {
            done.close();
        }
    }

    /**
     * The request ended (its client left, or it was answered otherwise): a check still asking is
     * closed, and no answer comes. One reading the rest of a 2xx finishes (within its timeout), so
     * its connection can go back to the pool.
     */
    @Override
    public void withdraw() {
        if (state == State.ASKING || state == State.DENYING) {
            state = State.DONE;
            cancelTimer();
            closeConnection();
            releaseDenial();
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void releaseDenial() {
        deniedHead = null;
        if (deniedBody != null) {
            deniedBody.release();
            deniedBody = null;
        }
    }

    private void closeConnection() {
        UpstreamConnection open = connection;
        if (open != null) {
            dropConnection();
            open.close();
        }
    }

    private void dropConnection() {
        if (connection != null) {
            endpoint.attemptEnded();
            connection.detach();
            connection = null;
        }
    }

    @Override
    public void onUpstreamReadComplete(UpstreamConnection from) {
    }

    @Override
    public void onUpstreamWritabilityChanged(UpstreamConnection from) {
    }

    @Override
    public void onUpstreamClosed(UpstreamConnection from, Throwable cause) {
        if (cause != null) {
            LOG.debug("forward auth at {} failed: {}", endpoint, cause.toString());
        }
        lost(from);
    }
}
