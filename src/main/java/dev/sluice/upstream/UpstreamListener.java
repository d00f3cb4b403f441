package dev.sluice.upstream;


/**
 * Receives what happens on an upstream connection while it carries one exchange. Called on the
 * connection's event loop, which is also the downstream connection's.
 */
public interface UpstreamListener {
    /** Ownership of content (a reference-counted buffer) passes to the listener. */
    void onResponseObject(UpstreamConnection connection, Object message);

    void onUpstreamReadComplete(UpstreamConnection connection);

    void onUpstreamWritabilityChanged(UpstreamConnection connection);

    /** The connection closed or failed; {@code cause} is null for a plain close. */
    void onUpstreamClosed(UpstreamConnection connection, Throwable cause);

    /** Sentinel for "nobody": a connection sitting in its pool. */
    UpstreamListener NONE = new UpstreamListener() {
        @Override
        public void onResponseObject(UpstreamConnection connection, Object message) {
            io.netty.util.ReferenceCountUtil.release(message);
        }

        @Override
        public void onUpstreamReadComplete(UpstreamConnection connection) {}

        @Override
        public void onUpstreamWritabilityChanged(UpstreamConnection connection) {}

        @Override
        public void onUpstreamClosed(UpstreamConnection connection, Throwable cause) {}
    };
}
