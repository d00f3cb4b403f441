package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MaglevTest {
    private static final int KEYS = 100_000;

    private static String[] ids(int n) {
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = "10.0.0." + (i + 1) + ":8080";
        }
        return ids;
    }

    private static int[] ones(int n) {
        int[] weights = new int[n];
        Arrays.fill(weights, 1);
        return weights;
    }

    /** Each key's endpoint, as an id, so tables over different sets compare by name. */
    private static String[] owners(Maglev table, String[] ids) {
        String[] owners = new String[KEYS];
        for (int k = 0; k < KEYS; k++) {
            owners[k] = ids[table.endpointFor(Maglev.hash("user-" + k))];
        }
        return owners;
    }

    @Test
    void addingAFifthEndpointMovesAboutAFifthOfTheKeysAndOnlyToIt() {
        String[] four = ids(4);
        String[] five = ids(5);
        String[] before = owners(Maglev.build(four, ones(4)), four);
        String[] after = owners(Maglev.build(five, ones(5)), five);
        int moved = 0;
        int toTheNewOne = 0;
        for (int k = 0; k < KEYS; k++) {
            if (!before[k].equals(after[k])) {
                moved++;
                toTheNewOne += after[k].equals(five[4]) ? 1 : 0;
            }
        }
        double share = (double) moved / KEYS;
        System.out.printf("adding 1 endpoint to 4 moved %.1f%% of %d keys (ideal 20%%), %d of them to the new one%n",
                share * 100, KEYS, toTheNewOne);
        assertThat(share).isBetween(0.18, 0.23);
        // Almost every key that moves goes to the new endpoint; Maglev moves a few others to keep the spread even.
        assertThat((double) toTheNewOne / moved).isGreaterThan(0.95);
    }

    @Test
    void removingOneOfFiveMovesOnlyItsOwnKeys() {
        String[] five = ids(5);
        String[] four = Arrays.copyOf(five, 4);
        String[] before = owners(Maglev.build(five, ones(5)), five);
        String[] after = owners(Maglev.build(four, ones(4)), four);
        int moved = 0;
        int owned = 0;
        for (int k = 0; k < KEYS; k++) {
            if (before[k].equals(five[4])) {
                owned++;
            } else if (!before[k].equals(after[k])) {
                moved++;
            }
        }
        System.out.printf("removing 1 of 5 endpoints moved %d keys besides its own %d%n", moved, owned);
        assertThat((double) owned / KEYS).isBetween(0.18, 0.22);
        // Maglev trades a little disruption for an even spread: a few percent, not a reshuffle.
        assertThat((double) moved / KEYS).isLessThan(0.05);
    }

    @Test
    void keysSpreadEvenlyAndByWeight() {
        String[] ids = ids(3);
        Maglev table = Maglev.build(ids, new int[] {1, 1, 2});
        int[] counts = new int[3];
        for (int k = 0; k < KEYS; k++) {
            counts[table.endpointFor(Maglev.hash("client-" + k))]++;
        }
        assertThat(counts[0] / (double) KEYS).isBetween(0.23, 0.27);
        assertThat(counts[1] / (double) KEYS).isBetween(0.23, 0.27);
        assertThat(counts[2] / (double) KEYS).isBetween(0.48, 0.52);
    }

    @Test
    void anEndpointsPlaceFollowsItsNameNotItsPositionInTheList() {
        String[] ids = ids(4);
        String[] reversed = {ids[3], ids[2], ids[1], ids[0]};
        String[] a = owners(Maglev.build(ids, ones(4)), ids);
        String[] b = owners(Maglev.build(reversed, ones(4)), reversed);
        assertThat(b).isEqualTo(a);
    }

    @Test
    void anEmptyTableHasNoEndpoint() {
        assertThat(Maglev.build(new String[0], new int[0]).endpointFor(Maglev.hash("x"))).isEqualTo(-1);
    }
}
