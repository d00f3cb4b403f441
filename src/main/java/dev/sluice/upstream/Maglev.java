package dev.sluice.upstream;

/**
 * A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, §3.4), as Envoy's {@code maglev} load balancer builds it: each endpoint
 * fills the table's slots in the order of its own permutation, in turns, until every slot has an
 * endpoint. A key's endpoint is one array read. The table spreads keys over the endpoints in
 * proportion to their weights, and adding or removing an endpoint moves few keys besides those
 * that must move (about 1/(n+1) of them when one endpoint joins n).
 *
 * <p>Immutable once built; read by every event loop.
 */
public final class Maglev {
    /** 65,537 slots, Envoy's default: a prime, and above 100 slots per endpoint up to 655 endpoints,
     * where the spread stays within a percent or so of the weights. 256 KiB per sticky cluster. */
    static final int TABLE_SIZE = 65_537;

    private final int[] table;

    private Maglev(int[] table) {
        this.table = table;
    }

    /**
     * The table for endpoints named {@code ids} (a stable name for each: a name's position in the
     * table follows the name, not the index) with the given weights (all at least 1).
     */
    static Maglev build(String[] ids, int[] weights) {
        return build(ids, weights, TABLE_SIZE);
    }

    static Maglev build(String[] ids, int[] weights, int size) {
        int n = ids.length;
        int[] table = new int[size];
        java.util.Arrays.fill(table, -1);
        if (n == 0) {
            return new Maglev(table);
        }
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        int maxWeight = 1;
        for (int i = 0; i < n; i++) {
            offset[i] = Long.remainderUnsigned(hash(ids[i], 0x9E3779B97F4A7C15L), size);
            skip[i] = Long.remainderUnsigned(hash(ids[i], 0xC2B2AE3D27D4EB4FL), size - 1) + 1;
            maxWeight = Math.max(maxWeight, weights[i]);
        }
        // Weighted turns (Envoy's MaglevTable): each round an endpoint earns its weight, and
        // places one slot for every maxWeight it has earned.
        long[] earned = new long[n];
        int filled = 0;
        // Turns in the order of the ids, not of the list: the same set gives the same table
        // however the config or the DNS answer orders it.
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparing(i -> ids[i]));
        while (true) {
            for (int i : order) {
                earned[i] += weights[i];
                while (earned[i] >= maxWeight) {
                    earned[i] -= maxWeight;
                    int slot = (int) Long.remainderUnsigned(offset[i] + next[i] * skip[i], size);
                    while (table[slot] >= 0) {
                        next[i]++;
                        slot = (int) Long.remainderUnsigned(offset[i] + next[i] * skip[i], size);
                    }
                    table[slot] = i;
                    next[i]++;
                    if (++filled == size) {
                        return new Maglev(table);
                    }
                }
            }
        }
    }

    /** The index of the endpoint for {@code keyHash}, or -1 when the table has no endpoints. */
    int endpointFor(long keyHash) {
        return table[slot(keyHash)];
    }

    /** The slot {@code keyHash} lands in. */
    int slot(long keyHash) {
        return (int) Long.remainderUnsigned(keyHash, table.length);
    }

    /** The endpoint at {@code slot}; slots past the end wrap. Walking on from a key's slot gives its next choices. */
    int endpointAt(int slot) {
        return table[slot % table.length];
    }

    int size() {
        return table.length;
    }

    /** A request key's hash, spread over all 64 bits. */
    static long hash(String key) {
        return hash(key, 0);
    }

    /**
     * 64-bit FNV-1a over the characters (both bytes of each, no copy made), then MurmurHash3's fmix64 so that keys differing in
     * their last character still land far apart. Not for secrets: a client could choose keys that
     * collide, which only puts its own requests together.
     */
    public static long hash(String key, long seed) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            h ^= c & 0xff;
            h *= 0x100000001b3L;
            h ^= c >>> 8;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
