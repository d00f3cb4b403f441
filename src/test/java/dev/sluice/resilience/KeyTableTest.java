package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Where a key's state lives in a bounded table: its own while there is room, shared (never fresh) when there is not. */
class KeyTableTest {
    /** A state a test says is spent or not. */
    private static final class Spendable implements KeyTable.State {
        boolean spent = true;

        @Override
        public boolean asGoodAsNew() {
            return !spent;
        }
    }

    @Test
    void aKeyFindsItsOwnStateEveryTimeAndDistinctKeysGetDistinctStatesWhileThereIsRoom() {
        KeyTable<Spendable> table = new KeyTable<>(64, Spendable::new, 7L);
        Set<Spendable> states = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int i = 0; i < 32; i++) {
            Spendable state = table.stateOf("192.0.2." + i);
            assertThat(table.stateOf("192.0.2." + i)).isSameAs(state);
            states.add(state);
        }
        assertThat(states).hasSize(32);
        assertThat(table.used()).isEqualTo(32);
    }

    @Test
    void whenEveryNeighbouringSlotIsSpentByOtherKeysANewKeySharesRatherThanGetsAFreshState() {
        KeyTable<Spendable> table = new KeyTable<>(8, Spendable::new, 7L);
        for (int i = 0; table.used() < 8; i++) {
            table.stateOf("filler-" + i);
        }
        Set<Spendable> before = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            before.add(table.stateOf("filler-" + i));
        }
        Spendable late = table.stateOf("late");
        assertThat(before).as("every state ever made").hasSize(8).contains(late);
        assertThat(table.stateOf("late")).as("and always the same one").isSameAs(late);
    }

    @Test
    void aSlotIsRelabelledForANewKeyOnlyWhenItsStateIsAsGoodAsNewAndKeepsThatState() {
        KeyTable<Spendable> table = new KeyTable<>(8, Spendable::new, 7L);
        Spendable[] states = new Spendable[8];
        for (int i = 0, n = 0; n < 8; i++) {
            Spendable s = table.stateOf("k" + i);
            if (!java.util.Arrays.asList(states).contains(s)) {
                states[n++] = s;
            }
        }
        Spendable rested = states[3];
        rested.spent = false;
        Spendable newcomer = table.stateOf("newcomer");
        assertThat(newcomer).as("the rested state, handed on as it is").isSameAs(rested);
        assertThat(table.used()).isEqualTo(8);
    }

    @Test
    void aMillionKeysNeverHoldMoreThanTheTablesSlots() {
        KeyTable<Spendable> table = new KeyTable<>(1024, Spendable::new);
        for (int i = 0; i < 1_000_000; i++) {
            table.stateOf("key-" + i);
        }
        assertThat(table.used()).isEqualTo(1024);
    }

    @Test
    void theSeedDecidesWhereAKeyLandsSoNobodyCanAimAtAnothersSlot() {
        KeyTable<Spendable> a = new KeyTable<>(1 << 16, Spendable::new, 1L);
        KeyTable<Spendable> b = new KeyTable<>(1 << 16, Spendable::new, 2L);
        assertThat(a.hash("203.0.113.7")).isNotEqualTo(b.hash("203.0.113.7"));
        assertThat(a.hash("203.0.113.7")).isEqualTo(a.hash("203.0.113.7"));
    }
}
