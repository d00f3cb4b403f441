package dev.sluice.kubernetes;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Two clusters whose Services select the same pods: the incident behind this check, where a
 * website Service's selector also matched the Elasticsearch pods, so website traffic went to
 * Elasticsearch and came back as 502s. A pure function of what each Service's slices name; used
 * by the watch at run time and by {@code sluice check} on a reachable cluster.
 */
public final class Overlaps {
    private Overlaps() {}

    /** One cluster's Service and the pods its slices name ({@code namespace/pod}, or an address). */
    public record Member(String cluster, String service, boolean shared, Set<String> pods) {}

    /** Two clusters' Services that select the same pods, and those pods. */
    public record Overlap(String cluster, String service, String otherCluster, String otherService, List<String> pods) {
        /** What the log, {@code sluice check} and {@code /status} say. */
        public String describe() {
            return "Services " + service + " (cluster '" + cluster + "') and " + otherService + " (cluster '"
                    + otherCluster + "') select the same " + (pods.size() == 1 ? "pod: " : pods.size() + " pods: ")
                    + String.join(", ", pods) + "; traffic for one reaches the other's pods. Fix the selectors, or "
                    + "say 'shared: true' in both clusters' 'kubernetes' if that is meant";
        }
    }

    /** Each pair of members that share a pod, in the members' order, unless both are {@code shared}. */
    public static List<Overlap> find(List<Member> members) {
        List<Overlap> found = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            for (int j = i + 1; j < members.size(); j++) {
                Member a = members.get(i);
                Member b = members.get(j);
                if (a.shared() && b.shared()) {
                    continue;
                }
                Set<String> both = new TreeSet<>(a.pods());
                both.retainAll(b.pods());
                if (!both.isEmpty()) {
                    found.add(new Overlap(a.cluster(), a.service(), b.cluster(), b.service(), List.copyOf(both)));
                }
            }
        }
        return found;
    }
}
