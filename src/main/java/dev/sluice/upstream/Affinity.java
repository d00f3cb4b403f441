package dev.sluice.upstream;

/**
 * What a request brings to a sticky cluster's pick: the endpoint its cookie names, or the key it
 * hashes by, or nothing ({@link #NONE}: the load balancer decides, as for a cluster that is not
 * sticky). Read from the request once, before its first attempt.
 */
public sealed interface Affinity {
    /** No cookie, no key: the cluster's load balancer picks. */
    Affinity NONE = new None();

    record None() implements Affinity {}

    /** The value of the cluster's sticky cookie, as the client sent it (it may name no endpoint, or a gone one). */
    record Cookie(String value) implements Affinity {}

    /** A request key (the client's address, a header's value), hashed onto the cluster's Maglev table. */
    record Key(long hash) implements Affinity {}

    static Affinity cookie(String value) {
        return new Cookie(value);
    }

    /** The affinity of a request whose key is {@code key} (a client address, a header's value). */
    static Affinity key(String key) {
        return new Key(Maglev.hash(key));
    }
}
