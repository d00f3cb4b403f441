package dev.sluice.resilience;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The state of a rate limit's keys in a fixed number of slots, so that a million distinct keys
 * cost what a few thousand do and are still limited. A key's slot is found by a keyed hash of it
 * (the hash's seed is random per table, so nobody can pick a key that lands on someone else's
 * slot) among {@value #PROBES} neighbouring slots: the slot labelled with its hash, else an empty
 * one, else one whose state is as good as new (see below). When none of them is free, the key
 * shares the state of its first slot with the key there: a shared bucket refills for two, which
 * is stricter for both, never looser.
 *
 * <p>A slot is relabelled for a new key only when its state is indistinguishable from a fresh
 * one: a full bucket and nothing in flight. So a key never gets its limit back by being pushed
 * out: a key that spent its burst keeps its slot, however many other keys arrive, until it has
 * refilled anyway. That is the hole of caches that evict by age or size (Envoy Gateway #9973:
 * a flood of new keys evicts a limited key, which comes back with a full bucket). The state
 * object itself never leaves its slot's lineage, so a request racing a relabel counts on the
 * same state either way.
 *
 * <p>Shared by every event loop without a lock: slots are set by compare-and-set, states are
 * Bucket4j's lock-free buckets and an atomic count.
 */
final class KeyTable<S extends KeyTable.State> {
    /** How many neighbouring slots a key may use: 8 keeps a full-ish table finding room (at half
     * full, a new key shares with odds of 1 in 256) while a miss stays a handful of reads. */
    static final int PROBES = 8;

    /** What a table keeps per key. */
    interface State {
        /** Whether this state is what a new key would get: nothing spent, nothing in flight. */
        boolean asGoodAsNew();
    }

    /** A slot's label (the hash of the key it belongs to) and its state. */
    private record Entry<S>(long hash, S state) {}

    private final AtomicReferenceArray<Entry<S>> slots;
    private final Supplier<S> fresh;
    private final long seed;
    private final int probes;

    KeyTable(int size, Supplier<S> fresh) {
        this(size, fresh, ThreadLocalRandom.current().nextLong());
    }

    /** @param seed the hash's seed; tests fix it */
    KeyTable(int size, Supplier<S> fresh, long seed) {
        this.slots = new AtomicReferenceArray<>(size);
        this.fresh = fresh;
        this.seed = seed;
        this.probes = Math.min(PROBES, size);
    }

    /** The state {@code key} counts on: its own, a new one, or (when its slots are all busy) a shared one. */
    S stateOf(String key) {
        long hash = hash(key);
        int home = (int) Long.remainderUnsigned(hash, slots.length());
        int reusableAt = -1;
        Entry<S> reusable = null;
        for (int i = 0, at = home; i < probes; i++, at = at + 1 == slots.length() ? 0 : at + 1) {
            Entry<S> entry = slots.get(at);
            if (entry == null) {
                Entry<S> mine = new Entry<>(hash, fresh.get());
                entry = slots.compareAndExchange(at, null, mine);
                if (entry == null) {
                    return mine.state();
                }
            }
            if (entry.hash() == hash) {
                return entry.state();
            }
            if (reusable == null && entry.state().asGoodAsNew()) {
                reusable = entry;
                reusableAt = at;
            }
        }
        if (reusable != null) {
            // Its state is what a fresh one would be, so it is handed on as it is, not replaced:
            // a request of the old key counting on it meanwhile still counts.
            Entry<S> relabelled = new Entry<>(hash, reusable.state());
            if (slots.compareAndSet(reusableAt, reusable, relabelled)) {
                return relabelled.state();
            }
        }
        return slots.get(home).state();
    }

    /** Slots holding a state: at most the table's size, whatever the number of keys seen. */
    int used() {
        int used = 0;
        for (int i = 0; i < slots.length(); i++) {
            if (slots.get(i) != null) {
                used++;
            }
        }
        return used;
    }

    int size() {
        return slots.length();
    }

    /**
     * A 64-bit hash of {@code key} under this table's seed: FNV-1a over its chars from the seed,
     * then MurmurHash3's finalizer so every bit of the slot index depends on every char.
     */
    long hash(String key) {
        long h = seed ^ 0xcbf29ce484222325L;
        for (int i = 0; i < key.length(); i++) {
            h = (h ^ key.charAt(i)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        return h ^ h >>> 33;
    }
}
