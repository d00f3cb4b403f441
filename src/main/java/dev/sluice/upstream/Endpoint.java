package dev.sluice.upstream;

import java.net.InetSocketAddress;
import java.util.Map;

/**
 * One backend address of a cluster at run time. Outlives config reloads that keep it, so the
 * state it carries (pools, and later health) survives them.
 */
public final class Endpoint {
    private final String cluster;
    private final String address;
    private final InetSocketAddress socketAddress;
    private final Map<String, String> labels;

    public Endpoint(String cluster, String address, InetSocketAddress socketAddress, Map<String, String> labels) {
        this.cluster = cluster;
        this.address = address;
        this.socketAddress = socketAddress;
        this.labels = Map.copyOf(labels);
    }

    public String cluster() {
        return cluster;
    }

    /** The address as written in the config, used in logs and /status. */
    public String address() {
        return address;
    }

    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    public Map<String, String> labels() {
        return labels;
    }

    @Override
    public String toString() {
        return address;
    }
}
