package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which package may use which, checked on the sources: every {@code dev.sluice.…} reference
 * (imports and fully-qualified names) must be allowed by {@link #RULES}, and the packages must
 * not use each other in a cycle. The direction is the architecture: the HTTP syntax at the
 * bottom, the data plane above it reading immutable config records, the admin API reading the
 * data plane, the control plane changing it, and the root package wiring them into one process.
 */
class PackageBoundariesTest {
    private static final Path MAIN = Path.of("src/main/java/dev/sluice");
    /** The root package, {@code dev.sluice}: the command line and the process wiring. */
    private static final String ROOT = "dev.sluice";
    /** In a rule: only config's immutable records, never its loaders, validation or store. */
    private static final String CONFIG_RECORDS = "config-records";

    /** Package, the packages it may use, and why. A package without a row is a failure: give it one. */
    static final List<Rule> RULES = List.of(
            rule("http", "",
                    "the HTTP/1.1 wire syntax, the bottom layer: shared by both sides of the proxy and by config, "
                            + "so it knows nothing of routes, clusters or failures"),
            rule("failure", "",
                    "the closed failure taxonomy is the vocabulary every layer speaks, so it depends on none"),
            rule("tls", "",
                    "reading PEM certificates and keys, and how TLS is terminated (provider, protocols, ciphers, "
                            + "SNI) and spoken to backends: used alike by config, which checks a certificate at "
                            + "load, by the listeners and by the upstream side"),
            rule("config", "http tls",
                    "a config is loaded and validated before anything runs (and by `sluice check`, which runs "
                            + "nothing): no runtime package; header names are checked with http's token table, "
                            + "certificates read with tls"),
            rule("observe", "failure",
                    "what happened, recorded: written by the data plane and read by admin, it knows none of "
                            + "the objects that write it"),
            rule("resilience", "config-records failure",
                    "retry policy, budgets, concurrency gates and rate limits are decisions computed from "
                            + "config records and failure kinds; they never see a client's or an endpoint's "
                            + "connection (global rate limits reach Redis through a client of their own)"),
            rule("access", "config-records failure",
                    "who may use a route (addresses, CORS, basic auth), compiled from config records; it reads "
                            + "requests but never a connection, and answers with the fields a reply carries"),
            rule("route", "config-records http resilience access",
                    "the route table is built from config records; a route carries its retry policy and its "
                            + "access rules, and reads request fields by http's syntax (a compressing route's "
                            + "Accept-Encoding)"),
            rule("upstream", "config-records http failure resilience observe tls",
                    "clusters, endpoints, pools and health checks serve any client of a backend: never the "
                            + "server or the exchange that uses them; TLS to backends is made with tls's client "
                            + "context"),
            rule("apps", "config-records failure",
                    "the processes behind app clusters, supervised off the event loops from their own state: "
                            + "the data plane asks it whether an app is ready, never the other way round, so a "
                            + "response never reaches the decision to start"),
            rule("record", "config-records",
                    "recordings written off the event loops, and read back by the command line (export): the "
                            + "format and the writer know the entries they are given, never a request or a connection"),
            rule("exchange", "config-records http failure observe resilience access route upstream apps record",
                    "one request through route, admit, pick, acquire, send, respond: never the server, whose "
                            + "HTTP/1.1 connection drives it through Downstream, so an HTTP/2 stream can too"),
            rule("kubernetes", "config-records upstream",
                    "endpoints from Kubernetes Services: a watch off the data plane that replaces a cluster's "
                            + "endpoints through the same path as a host name's new addresses; the data plane "
                            + "never asks it anything"),
            rule("server", "config-records http failure observe resilience access route upstream exchange tls apps "
                            + "kubernetes",
                    "listeners, client connections and the gateway (the data plane): never the admin API or "
                            + "the control plane, which act on it from outside"),
            rule("incident", "config failure observe upstream",
                    "incidents are judged off the data plane, from the totals observe counts and the endpoints' "
                            + "state; the control plane and the admin API are told and asked from outside"),
            rule("admin", "config http failure observe resilience access route upstream exchange server apps kubernetes",
                    "the admin API reads the data plane for /status and /metrics; the control endpoints plug "
                            + "in from control, so admin never uses control, and the incidents reach it as JSON "
                            + "through the instance"),
            rule("canary", "config-records observe route admin",
                    "canaries are judged off the data plane from the totals observe counts, and move a route's "
                            + "weights (route.Split); their end is recorded as a version and an incident through "
                            + "the instance, so they never use control or incident"),
            rule("control", "config admin observe server",
                    "the control plane changes the running gateway's config (server), keeps versions (config) "
                            + "and puts its endpoints on the admin API"),
            rule("replay", "http config",
                    "`sluice replay` is a client of a running gateway, not part of one: it reads recordings and "
                            + "sends them on a Netty client of its own, using only the field syntax (http) and the "
                            + "duration syntax of config files (config), so its options read like the config"),
            rule(ROOT, "config http failure observe resilience access route upstream exchange server admin control apps "
                            + "incident record kubernetes replay canary",
                    "the command line and the wiring of one process; no other package uses it"));

    /** Package names as written in the sources: {@code dev.sluice.x}, or {@code dev.sluice.Class} for the root. */
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.sluice\\.(\\w+|\\*)(\\.[\\w.]+)?");
    /** What the data plane may read of config: the immutable records, never the loaders (ARCHITECTURE.md §2). */
    private static final Pattern CONFIG_RECORD = Pattern.compile("(\\w+Config|HostPort)(\\.\\w+)*");

    record Rule(String pkg, Set<String> mayUse, String why) {}

    private static Rule rule(String pkg, String mayUse, String why) {
        return new Rule(pkg, Arrays.stream(mayUse.split(" ")).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(TreeSet::new)), why);
    }

    @Test
    void everyReferenceBetweenPackagesFollowsTheRules() throws IOException {
        assertThat(violations(MAIN, RULES)).isEmpty();
    }

    @Test
    void thePackagesUseEachOtherWithoutACycle() throws IOException {
        assertThat(cycles(uses(MAIN))).isEmpty();
    }

    @Test
    void theRulesThemselvesHaveNoCycle() {
        Map<String, Set<String>> allowed = new TreeMap<>();
        for (Rule r : RULES) {
            allowed.put(r.pkg(), r.mayUse().stream().map(u -> u.equals(CONFIG_RECORDS) ? "config" : u)
                    .collect(Collectors.toCollection(TreeSet::new)));
        }
        assertThat(cycles(allowed)).isEmpty();
    }

    /** The check must be able to fail: a small source tree breaking each rule once. */
    @Test
    void aForbiddenImportAFullyQualifiedNameTheRootAConfigLoaderAnUnknownPackageAndACycleAreEachReported(
            @TempDir Path src) throws IOException {
        write(src, "http/Syntax.java", "package dev.sluice.http;\nimport dev.sluice.server.Gateway;\n");
        write(src, "upstream/Pool.java", "package dev.sluice.upstream;\n\nclass Pool {\n  dev.sluice.exchange.Exchange e;\n}\n");
        write(src, "server/Conn.java", "package dev.sluice.server;\nimport dev.sluice.Instance;\n"
                + "import dev.sluice.config.ConfigLoader;\nimport dev.sluice.config.ListenerConfig;\n");
        write(src, "exchange/Exchange.java", "package dev.sluice.exchange;\nimport dev.sluice.upstream.Pool;\n");
        write(src, "mystery/Thing.java", "package dev.sluice.mystery;\n");

        List<String> violations = violations(src, RULES);

        assertThat(violations).anySatisfy(v -> assertThat(v).startsWith("http/Syntax.java:2 uses dev.sluice.server.Gateway"))
                .anySatisfy(v -> assertThat(v).startsWith("upstream/Pool.java:4 uses dev.sluice.exchange.Exchange"))
                .anySatisfy(v -> assertThat(v).startsWith("server/Conn.java:2 uses dev.sluice.Instance"))
                .anySatisfy(v -> assertThat(v).startsWith("server/Conn.java:3 uses dev.sluice.config.ConfigLoader")
                        .contains("only config's records"))
                .anySatisfy(v -> assertThat(v).startsWith("mystery has no rule"))
                .noneSatisfy(v -> assertThat(v).contains("ListenerConfig"))
                .noneSatisfy(v -> assertThat(v).startsWith("exchange/"))
                .hasSize(5);
        assertThat(cycles(uses(src))).containsExactly("exchange -> upstream -> exchange");
    }

    /** Each reference that a rule does not allow, as {@code FILE:LINE uses REFERENCE: why}. */
    static List<String> violations(Path sources, List<Rule> rules) throws IOException {
        Map<String, Rule> byPackage = new LinkedHashMap<>();
        rules.forEach(r -> byPackage.put(r.pkg(), r));
        List<String> violations = new ArrayList<>();
        for (String pkg : packages(sources)) {
            if (!byPackage.containsKey(pkg)) {
                violations.add(pkg + " has no rule in PackageBoundariesTest.RULES: say what it may use, and why");
            }
        }
        for (Path file : javaFiles(sources)) {
            String pkg = packageOf(sources, file);
            Rule rule = byPackage.get(pkg);
            if (rule == null) {
                continue;
            }
            String text = Files.readString(file);
            Matcher m = REFERENCE.matcher(text);
            while (m.find()) {
                String used = usedPackage(m);
                // What follows the package: a class, perhaps nested; a comment's full stop is not part of it.
                String rest = m.group(2) == null ? "" : m.group(2).substring(1).replaceAll("\\.+$", "");
                String where = sources.relativize(file) + ":" + lineOf(text, m.start()) + " uses " + m.group();
                if (used.equals(pkg)) {
                    continue;
                }
                if (used.equals("config") && rule.mayUse().contains(CONFIG_RECORDS)) {
                    if (!rest.isEmpty() && !CONFIG_RECORD.matcher(rest).matches()) {
                        violations.add(where + ": " + pkg + " may use only config's records (…Config, HostPort), "
                                + "read from the snapshot the control plane publishes; " + rule.why());
                    }
                    continue;
                }
                if (!rule.mayUse().contains(used)) {
                    violations.add(where + ": " + pkg + " may use only " + rule.mayUse() + "; " + rule.why());
                }
            }
        }
        return violations;
    }

    /** Package → the packages its sources refer to. */
    static Map<String, Set<String>> uses(Path sources) throws IOException {
        Map<String, Set<String>> uses = new TreeMap<>();
        for (Path file : javaFiles(sources)) {
            String pkg = packageOf(sources, file);
            Set<String> used = uses.computeIfAbsent(pkg, p -> new TreeSet<>());
            Matcher m = REFERENCE.matcher(Files.readString(file));
            while (m.find()) {
                String other = usedPackage(m);
                if (!other.equals(pkg)) {
                    used.add(other);
                }
            }
        }
        return uses;
    }

    /** Each cycle found by a depth-first walk, as {@code a -> b -> a}. */
    static List<String> cycles(Map<String, Set<String>> graph) {
        List<String> cycles = new ArrayList<>();
        Set<String> done = new TreeSet<>();
        for (String start : graph.keySet()) {
            walk(start, graph, new ArrayList<>(), done, cycles);
        }
        return cycles;
    }

    private static void walk(String pkg, Map<String, Set<String>> graph, List<String> path, Set<String> done,
                             List<String> cycles) {
        int at = path.indexOf(pkg);
        if (at >= 0) {
            List<String> cycle = new ArrayList<>(path.subList(at, path.size()));
            cycle.add(pkg);
            cycles.add(String.join(" -> ", cycle));
            return;
        }
        if (done.contains(pkg)) {
            return;
        }
        path.add(pkg);
        for (String next : graph.getOrDefault(pkg, Set.of())) {
            walk(next, graph, path, done, cycles);
        }
        path.remove(path.size() - 1);
        done.add(pkg);
    }

    private static String usedPackage(Matcher m) {
        String first = m.group(1);
        // dev.sluice.Instance or dev.sluice.*: the root package itself.
        return first.equals("*") || Character.isUpperCase(first.charAt(0)) ? ROOT : first;
    }

    /** The packages present; one named in the rules but not yet written (or removed) is simply absent. */
    private static Set<String> packages(Path sources) throws IOException {
        Set<String> packages = new TreeSet<>();
        for (Path file : javaFiles(sources)) {
            packages.add(packageOf(sources, file));
        }
        return packages;
    }

    private static String packageOf(Path sources, Path file) {
        Path dir = sources.relativize(file).getParent();
        return dir == null ? ROOT : dir.toString().replace(java.io.File.separatorChar, '.');
    }

    private static List<Path> javaFiles(Path sources) throws IOException {
        try (Stream<Path> files = Files.walk(sources)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }

    private static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    private static void write(Path root, String file, String text) throws IOException {
        Path path = root.resolve(file);
        Files.createDirectories(path.getParent());
        Files.writeString(path, text);
    }
}
