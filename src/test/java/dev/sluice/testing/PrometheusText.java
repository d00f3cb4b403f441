package dev.sluice.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scrape in the Prometheus text exposition format (0.0.4), parsed strictly: every sample line
 * must belong to a family announced by {@code # TYPE} (with the suffixes its type allows), no
 * series may appear twice, and a histogram's buckets must be cumulative and end in {@code +Inf}
 * equal to its {@code _count}. A scrape that breaks any of it fails to parse.
 */
public final class PrometheusText {
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)(?: \\d+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\[\\\\\"n])*)\",?");

    public record Sample(String name, Map<String, String> labels, double value) {}

    public record Family(String name, String type, String help, List<Sample> samples) {}

    private final Map<String, Family> families;

    private PrometheusText(Map<String, Family> families) {
        this.families = families;
    }

    public static PrometheusText parse(String text) {
        Map<String, Family> families = new LinkedHashMap<>();
        Map<String, String> help = new TreeMap<>();
        Set<String> series = new java.util.HashSet<>();
        Family current = null;
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ")) {
                String[] parts = line.substring(7).split(" ", 2);
                help.put(parts[0], parts.length > 1 ? parts[1] : "");
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.substring(7).split(" ");
                if (parts.length != 2 || families.containsKey(parts[0])) {
                    throw new IllegalArgumentException("bad or repeated TYPE line: " + line);
                }
                current = new Family(parts[0], parts[1], help.getOrDefault(parts[0], ""), new ArrayList<>());
                families.put(parts[0], current);
                continue;
            }
            if (line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a sample line: " + line);
            }
            String name = m.group(1);
            if (current == null || !belongs(name, current)) {
                throw new IllegalArgumentException("sample outside its family's TYPE: " + line);
            }
            Map<String, String> labels = new TreeMap<>();
            if (m.group(2) != null && !m.group(2).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(2));
                int at = 0;
                while (l.find() && l.start() == at) {
                    labels.put(l.group(1), l.group(2).replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"));
                    at = l.end();
                }
                if (at != m.group(2).length()) {
                    throw new IllegalArgumentException("bad labels: " + line);
                }
            }
            if (!series.add(name + labels)) {
                throw new IllegalArgumentException("series exported twice: " + line);
            }
            current.samples().add(new Sample(name, labels, Double.parseDouble(m.group(3).replace("+Inf", "Infinity")
                    .replace("-Inf", "-Infinity"))));
        }
        families.values().stream().filter(f -> f.type().equals("histogram")).forEach(PrometheusText::checkHistogram);
        return new PrometheusText(families);
    }

    private static boolean belongs(String name, Family family) {
        String base = family.name();
        return switch (family.type()) {
            case "counter" -> name.equals(base + "_total") || name.equals(base + "_created") || name.equals(base);
            case "histogram" -> name.equals(base + "_bucket") || name.equals(base + "_sum") || name.equals(base + "_count")
                    || name.equals(base + "_created");
            case "summary" -> name.equals(base) || name.equals(base + "_sum") || name.equals(base + "_count");
            default -> name.equals(base);
        };
    }

    private static void checkHistogram(Family h) {
        Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
        Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
        for (Sample s : h.samples()) {
            if (s.name().endsWith("_bucket")) {
                Map<String, String> rest = new TreeMap<>(s.labels());
                rest.remove("le");
                buckets.computeIfAbsent(rest, k -> new ArrayList<>()).add(s);
            } else if (s.name().endsWith("_count")) {
                counts.put(s.labels(), s.value());
            }
        }
        buckets.forEach((labels, list) -> {
            double previousBound = Double.NEGATIVE_INFINITY;
            double previousCount = 0;
            for (Sample b : list) {
                double bound = Double.parseDouble(b.labels().get("le").replace("+Inf", "Infinity"));
                if (bound <= previousBound || b.value() < previousCount) {
                    throw new IllegalArgumentException(h.name() + labels + ": buckets not cumulative at le=" + bound);
                }
                previousBound = bound;
                previousCount = b.value();
            }
            if (previousBound != Double.POSITIVE_INFINITY || !counts.containsKey(labels)
                    || counts.get(labels) != previousCount) {
                throw new IllegalArgumentException(h.name() + labels + ": +Inf bucket missing or not its _count");
            }
        });
    }

    public Map<String, Family> families() {
        return families;
    }

    public Optional<Family> family(String name) {
        return Optional.ofNullable(families.get(name));
    }

    /**
     * Whether the scrape exports this name: a family's (a histogram's base name included), or a
     * sample's with a suffix its family's type exports ({@code _total}, {@code _bucket},
     * {@code _sum}, {@code _count}).
     */
    public boolean exports(String name) {
        return families.containsKey(name) || families.values().stream().anyMatch(f -> belongs(name, f));
    }

    /** The value of the one sample named {@code name} with exactly {@code labels} (as name, value pairs). */
    public double value(String name, String... labels) {
        Map<String, String> wanted = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            wanted.put(labels[i], labels[i + 1]);
        }
        return samples(name).stream().filter(s -> s.labels().equals(wanted)).findFirst()
                .orElseThrow(() -> new AssertionError("no sample " + name + wanted + " in the scrape; have "
                        + samples(name)))
                .value();
    }

    /** The sum of the samples named {@code name} whose labels include {@code labels}. */
    public double sum(String name, String... labels) {
        return samples(name).stream().filter(s -> {
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                    return false;
                }
            }
            return true;
        }).mapToDouble(Sample::value).sum();
    }

    public List<Sample> samples(String name) {
        List<Sample> all = new ArrayList<>();
        families.values().forEach(f -> f.samples().stream().filter(s -> s.name().equals(name)).forEach(all::add));
        return all;
    }
}
