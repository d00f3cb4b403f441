package dev.sluice.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Writes a split route's new weights into the config text, changing only the weights' digits,
 * so that the version recorded for a canary's rollback or promotion is the operator's file with
 * one number changed: its comments, order and layout stay, and {@code diff} shows the change.
 */
public final class SplitWeights {
    private SplitWeights() {}

    /**
     * {@code text} with the weights of route {@code route}'s backends set to {@code weights}
     * (by cluster name; backends not named keep theirs).
     *
     * @throws IllegalArgumentException when the text has no such route with backends, or a weight
     *     is not written as a plain number where it stands
     */
    public static String set(String text, String route, Map<String, Integer> weights) {
        Problems problems = new Problems("<running config>");
        YamlNode root = YamlReader.read(text, problems)
                .orElseThrow(() -> new IllegalArgumentException("the running config cannot be read again"));
        YamlNode.Sequence backends = backendsOf(root, route).orElseThrow(() -> new IllegalArgumentException(
                "the running config has no route '" + route + "' with backends"));
        record Change(Position at, String was, String now) {}
        List<Change> changes = new ArrayList<>();
        for (YamlNode item : backends.items()) {
            if (item instanceof YamlNode.Mapping m && m.entries().get("cluster") != null
                    && m.entries().get("cluster").value() instanceof YamlNode.Scalar cluster
                    && weights.containsKey(cluster.text())
                    && m.entries().get("weight") != null
                    && m.entries().get("weight").value() instanceof YamlNode.Scalar weight) {
                changes.add(new Change(weight.at(), weight.text(), Integer.toString(weights.get(cluster.text()))));
            }
        }
        String[] lines = text.split("\n", -1);
        // From the last to the first, so that an edit never moves the columns of the ones still to make.
        changes.sort(Comparator.comparing(Change::at, (a, b) -> a.isAfter(b) ? -1 : b.isAfter(a) ? 1 : 0));
        for (Change c : changes) {
            String line = lines[c.at().line() - 1];
            int from = c.at().column() - 1;
            if (!line.startsWith(c.was(), from)) {
                throw new IllegalArgumentException("the weight at " + c.at() + " is not written as a plain number");
            }
            lines[c.at().line() - 1] = line.substring(0, from) + c.now() + line.substring(from + c.was().length());
        }
        return String.join("\n", lines);
    }

    private static Optional<YamlNode.Sequence> backendsOf(YamlNode root, String route) {
        if (!(root instanceof YamlNode.Mapping top) || top.entries().get("routes") == null
                || !(top.entries().get("routes").value() instanceof YamlNode.Sequence routes)) {
            return Optional.empty();
        }
        for (int i = 0; i < routes.items().size(); i++) {
            if (routes.items().get(i) instanceof YamlNode.Mapping r) {
                YamlNode.Entry name = r.entries().get("name");
                String named = name != null && name.value() instanceof YamlNode.Scalar s ? s.text() : "route-" + (i + 1);
                YamlNode.Entry backends = r.entries().get("backends");
                if (named.equals(route) && backends != null && backends.value() instanceof YamlNode.Sequence list) {
                    return Optional.of(list);
                }
            }
        }
        return Optional.empty();
    }
}
