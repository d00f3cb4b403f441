package dev.sluice.upstream;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The HTTP/2 connections of one event loop to one endpoint of a cluster with
 * {@code protocol: h2} or {@code h2c}: usually one, carrying every stream; another when the
 * endpoint's {@code SETTINGS_MAX_CONCURRENT_STREAMS} is reached, when a connection goes away
 * (GOAWAY), or when a request must not reuse one ({@code fresh}, after a failure on a shared
 * connection). Touched only from its loop.
 */
public final class Http2Pool {
    private final EventLoop loop;
    private final Endpoint endpoint;
    private final LongSupplier nanoClock;
    /** Opening and ready connections; one going away or closed leaves the list. */
    private final List<Http2Connection> connections = new ArrayList<>(2);

    Http2Pool(EventLoop loop, Endpoint endpoint, LongSupplier nanoClock) {
        this.loop = loop;
        this.endpoint = endpoint;
        this.nanoClock = nanoClock;
    }

    /** Whether a stream asked for now would go on a connection already open (the log's "reused"). */
    public boolean hasRoom() {
        for (Http2Connection connection : connections) {
            if (connection.hasRoom()) {
                return true;
            }
        }
        return false;
    }

    /**
     * A stream to the endpoint: on a ready connection with room, else on one being opened (once
     * it is ready), else on a new connection, connected within the cluster's {@code connect_timeout}
     * (TLS with ALPN {@code h2} for {@code protocol: h2}). It fails with the connect's cause when
     * the connection could not be opened.
     *
     * @param fresh a new connection, whatever the others have room for
     */
    public Future<UpstreamConnection> stream(boolean fresh, Cluster cluster, UpstreamConnector connector) {
        if (!fresh) {
            for (Http2Connection connection : connections) {
                if (connection.hasRoom()) {
                    connection.reserve();
                    return connection.openStream();
                }
            }
            for (Http2Connection connection : connections) {
                if (connection.takesWaiters()) {
                    return whenReady(connection, cluster, connector);
                }
            }
        }
        Http2Connection connection = connect(cluster, connector);
        return whenReady(connection, cluster, connector);
    }

    /** A stream on {@code connection} once it is ready; beyond the endpoint's limit, asked again of the pool. */
    private Future<UpstreamConnection> whenReady(Http2Connection connection, Cluster cluster, UpstreamConnector connector) {
        connection.reserve();
        Promise<UpstreamConnection> stream = loop.newPromise();
        connection.ready().addListener((Future<Http2Connection> f) -> {
            if (!f.isSuccess()) {
                connection.release();
                stream.tryFailure(f.cause());
                return;
            }
            if (connection.state() == Http2Connection.State.READY && connection.hasRoomForReserved()) {
                cascade(connection.openStream(), stream);
            } else {
                connection.release();
                cascade(stream(false, cluster, connector), stream);
            }
        });
        return stream;
    }

    private static void cascade(Future<UpstreamConnection> from, Promise<UpstreamConnection> to) {
        from.addListener((Future<UpstreamConnection> f) -> {
            if (f.isSuccess()) {
                if (!to.trySuccess(f.getNow())) {
                    f.getNow().close();
                }
            } else {
                to.tryFailure(f.cause());
            }
        });
    }

    private Http2Connection connect(Cluster cluster, UpstreamConnector connector) {
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, cluster.config().connectTimeout().toMillis());
        UpstreamTls tls = cluster.tls();
        Http2Connection connection = new Http2Connection(this, loop, endpoint, tls != null,
                cluster.config().idleTimeout().toNanos(), cluster.config().http2(), nanoClock);
        connections.add(connection);
        connector.connectForHttp2(loop, endpoint, timeoutMillis, tls, connection.handlers())
                .addListener((Future<Channel> f) -> {
            if (f.isSuccess()) {
                connection.connected(nanoClock.getAsLong(), timeoutMillis);
            } else {
                connection.notConnected(f.cause());
            }
        });
        return connection;
    }

    /** {@code connection} takes no new streams any more (going away, closed, failed to open). */
    void leaving(Http2Connection connection) {
        connections.remove(connection);
    }

    /** The endpoint left the config: its connections finish their streams and close. */
    void retire() {
        for (Http2Connection connection : List.copyOf(connections)) {
            connection.goAway();
        }
    }

    /** Closes every connection now, streams and all. */
    void closeAll() {
        for (Http2Connection connection : List.copyOf(connections)) {
            connection.close();
        }
    }

    /** Connections that carry no stream now. */
    int idleCount() {
        int idle = 0;
        for (Http2Connection connection : connections) {
            if (connection.idle()) {
                idle++;
            }
        }
        return idle;
    }
}
