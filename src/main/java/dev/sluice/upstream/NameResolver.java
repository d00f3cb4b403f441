package dev.sluice.upstream;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Asks what a host name's addresses are now. Sluice's is {@link DnsResolver}; tests give their
 * own, whose answers they change. An answer may complete on any thread.
 */
public interface NameResolver extends AutoCloseable {

    CompletionStage<Answer> resolve(String host);

    @Override
    default void close() {}

    /** What a lookup found. */
    sealed interface Answer {
        /** The addresses, and how long the DNS said they hold ({@code ttlNanos}), or -1 when it did not say (a hosts file). */
        record Addresses(List<InetAddress> addresses, long ttlNanos) implements Answer {
            public Addresses {
                addresses = List.copyOf(addresses);
            }
        }

        /** No address: the name does not exist, has no A or AAAA record, or the DNS did not answer; {@code why} in Sluice's words. */
        record Failed(String why) implements Answer {}
    }
}
