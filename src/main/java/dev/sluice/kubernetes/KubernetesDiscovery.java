package dev.sluice.kubernetes;

import dev.sluice.config.KubernetesConfig;
import dev.sluice.kubernetes.SliceEndpoints.Address;
import dev.sluice.kubernetes.SliceEndpoints.Reading;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.DnsRefresh;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.Upstreams;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the endpoints of the clusters that say {@code kubernetes:} as their Services'
 * EndpointSlices say: ready addresses take traffic; terminating ones and removed ones are
 * drained (no new request, in-flight ones finish, pooled connections close); not-ready ones take
 * nothing for now and keep their state (health, learned keep-alive, ejections, slow start) for
 * when they are ready again. An address that stays keeps its {@link Endpoint}, whatever else the
 * slice rewrite changed.
 *
 * <p>Everything that changes a cluster runs on one thread, {@code sluice-kubernetes}: the
 * informers' events (on fabric8's threads) only ask for a cluster to be read again from their
 * caches. A cluster's endpoints are replaced in one write ({@link Cluster#replaceEndpoints}), and
 * what it no longer has goes through the same path as a host name's gone addresses
 * ({@link Upstreams#endpointsChanged}: drained, health checks told). Once a second the same thread looks
 * at each watch, to say in the log when one broke and when it came back.
 *
 * <p>When two clusters' Services select the same pod (and not both say {@code shared: true}),
 * that is logged (WARN, naming both Services and the pods), shown in {@code /status} and counted
 * in {@code sluice_kubernetes_overlapping_pods}; see {@link Overlaps}.
 */
public final class KubernetesDiscovery implements Upstreams.EndpointSource {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesDiscovery.class);
    /** 1 s: how soon a broken or resumed watch is said in the log; looking costs a few field reads. */
    private static final long LOOK_EVERY_MILLIS = 1000;

    /** Makes the client of one kubeconfig (empty: fabric8's autoconfiguration). */
    @FunctionalInterface
    public interface Clients {
        KubernetesClient open(Optional<Path> kubeconfig);

        /**
         * A kubeconfig file as given; without one, fabric8's autoconfiguration: {@code KUBECONFIG}
         * or {@code ~/.kube/config} when there, else the pod's service account (token, CA and
         * namespace under {@code /var/run/secrets/kubernetes.io/serviceaccount}).
         */
        static Clients standard() {
            return kubeconfig -> new KubernetesClientBuilder().withConfig(config(kubeconfig)).build();
        }

        /** The client configuration of {@code kubeconfig}, or fabric8's autoconfiguration without one. */
        static Config config(Optional<Path> kubeconfig) {
            return kubeconfig.map(KubernetesDiscovery::readKubeconfig).orElseGet(() -> Config.autoConfigure(null));
        }
    }

    /**
     * A cluster's watch as it stands, for {@code /status}.
     *
     * @param watch {@code listing} (no answer yet), {@code watching}, or {@code reconnecting} (the
     *     last endpoints kept meanwhile)
     * @param service {@code found}, {@code missing}, or {@code no_such_port}
     */
    public record Standing(String name, String watch, String service, String resourceVersion, int ready,
                           int terminating, int notReady, String error, List<String> overlaps) {}

    /**
     * Told (on {@code sluice-kubernetes}) when a problem with a cluster's Service is found and when
     * it is gone: two Services selecting the same pods, or a Service that went away after it was
     * there. The instance opens an incident for each.
     */
    @FunctionalInterface
    public interface Problems {
        void changed(String cluster, String what, boolean present);

        Problems NONE = (cluster, what, present) -> {};
    }

    private final Supplier<Map<String, Cluster>> clusters;
    private final DnsRefresh.Changes changes;
    private final LongSupplier nanoClock;
    private final Clients clientFactory;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("sluice-kubernetes").factory());
    /** By cluster name; changed only on the thread, read by /status. */
    private final Map<String, Followed> watches = new ConcurrentHashMap<>();
    /** By kubeconfig; opened when first needed, on the thread. */
    private final Map<Optional<Path>, KubernetesClient> clients = new HashMap<>();
    private volatile List<Overlaps.Overlap> overlaps = List.of();
    private volatile boolean closed;
    private volatile Problems problems = Problems.NONE;
    /**
     * Every Kubernetes cluster of the config Sluice started with had its first listing applied
     * (or there was none): from then on {@link #waitingForFirstListing} is empty for good.
     */
    private volatile boolean startListed;

    /** One cluster's watch and what was made of it; the mutable fields are the thread's. */
    private final class Followed {
        final ServiceWatch watch;
        /** Not-ready addresses that were endpoints: out of the cluster, their state kept. */
        Map<String, Endpoint> parked = Map.of();
        volatile Reading reading;
        /** Its first listing is read and applied: the cluster has the endpoints the API has. */
        volatile boolean applied;
        volatile int terminating;
        volatile int notReady;
        boolean scheduled;
        boolean wasWatching;
        /** The log said the watch broke, or that the API could not be listed: say when it is back. */
        boolean saidBroken;
        String saidProblem;
        /** The Service was there once: its going away later is an incident, not only a warning. */
        boolean everFound;

        Followed(String cluster, KubernetesConfig config, KubernetesClient client) {
            this.watch = new ServiceWatch(cluster, config, client, () -> changed(this));
        }
    }

    public KubernetesDiscovery(Supplier<Map<String, Cluster>> clusters, DnsRefresh.Changes changes,
                               LongSupplier nanoClock, Clients clientFactory) {
        this.clusters = clusters;
        this.changes = changes;
        this.nanoClock = nanoClock;
        this.clientFactory = clientFactory;
        thread.scheduleWithFixedDelay(() -> {
            try {
                look();
            } catch (RuntimeException e) {
                LOG.warn("looking at the Kubernetes watches failed", e);
            }
        }, LOOK_EVERY_MILLIS, LOOK_EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static Config readKubeconfig(Path file) {
        try {
            return Config.fromKubeconfig(null, Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Follows the Kubernetes clusters of {@code published} (the clusters just published): a new
     * one starts its watch, one whose Service is unchanged keeps its watch and has its endpoints
     * put into its new {@link Cluster}, a removed or changed one stops. Completes when every new
     * watch's first listing is in its cluster (read and applied on this thread, not only
     * listed), so a start that waits for it serves its first request with the endpoints; one
     * that cannot list yet gets its endpoints when it does.
     */
    @Override
    public CompletableFuture<Void> track(Map<String, Cluster> published) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        thread.execute(() -> {
            List<CompletableFuture<Void>> first = new ArrayList<>();
            List<Followed> started = new ArrayList<>();
            Map<String, KubernetesConfig> wanted = new LinkedHashMap<>();
            published.values().forEach(c -> c.config().kubernetes().ifPresent(k -> wanted.put(c.name(), k)));
            watches.entrySet().removeIf(e -> {
                KubernetesConfig next = wanted.get(e.getKey());
                if (next != null && next.sameService(e.getValue().watch.config)) {
                    return false;
                }
                stop(e.getValue());
                return true;
            });
            wanted.forEach((cluster, config) -> {
                Followed kept = watches.get(cluster);
                if (kept != null) {
                    kept.watch.config = config;
                    apply(kept);
                    return;
                }
                try {
                    Followed fresh = new Followed(cluster, config, client(config.kubeconfig()));
                    watches.put(cluster, fresh);
                    started.add(fresh);
                    first.add(fresh.watch.firstListing());
                } catch (RuntimeException e) {
                    LOG.warn("cluster {}: cannot watch Service {} ({}); it has no endpoints", cluster,
                            config.describe(), ServiceWatch.describe(e));
                }
            });
            findOverlaps();
            noteStartListed();
            // Listed is not yet applied: the listing's own read is only queued behind this. Read
            // here, after it, so the endpoints are in the cluster when the publisher goes on.
            CompletableFuture.allOf(first.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> onThread(() -> {
                started.forEach(this::read);
                done.complete(null);
            }, () -> done.complete(null)));
        });
        return done;
    }

    /** Runs {@code task} on the thread; {@code otherwise} here when the thread has stopped. */
    private void onThread(Runnable task, Runnable otherwise) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            otherwise.run();
        }
    }

    private KubernetesClient client(Optional<Path> kubeconfig) {
        return clients.computeIfAbsent(kubeconfig, clientFactory::open);
    }

    /** A cache changed (on fabric8's thread): read the cluster again on ours, once for a burst of events. */
    private void changed(Followed followed) {
        if (closed) {
            return;
        }
        thread.execute(() -> {
            if (!followed.scheduled) {
                followed.scheduled = true;
                thread.execute(() -> {
                    followed.scheduled = false;
                    read(followed);
                });
            }
        });
    }

    private void read(Followed followed) {
        ServiceWatch watch = followed.watch;
        if (closed || watches.get(watch.cluster) != followed || !watch.listed()) {
            return;
        }
        Reading reading = watch.read();
        String problem = switch (reading) {
            case Reading.NoService none -> "Service " + watch.service() + " does not exist; the cluster has no "
                    + "endpoints until it does";
            case Reading.NoSuchPort port -> "Service " + watch.service() + ": " + port.why()
                    + "; the cluster has no endpoints until it does";
            case Reading.Found found -> null;
        };
        if (problem != null && !problem.equals(followed.saidProblem)) {
            LOG.warn("cluster {}: {}", watch.cluster, problem);
            if (followed.saidProblem != null && followed.everFound) {
                problems.changed(watch.cluster, followed.saidProblem, false);
            }
            if (followed.everFound) {
                problems.changed(watch.cluster, problem, true);
            }
        } else if (problem == null && followed.saidProblem != null) {
            LOG.info("cluster {}: Service {} is there again", watch.cluster, watch.service());
            if (followed.everFound) {
                problems.changed(watch.cluster, followed.saidProblem, false);
            }
        }
        followed.everFound |= problem == null;
        followed.saidProblem = problem;
        followed.reading = reading;
        apply(followed);
        followed.applied = true;
        findOverlaps();
        noteStartListed();
    }

    /** On the thread: once no cluster waits for its first listing, /ready stops asking ({@link #startListed}). */
    private void noteStartListed() {
        if (!startListed && waitingForFirstListing().isEmpty()) {
            startListed = true;
        }
    }

    /**
     * The Kubernetes clusters whose first listing is not yet in them, their names sorted; they answer {@code 503
     * no_healthy_endpoint} meanwhile, so {@code /ready} answers 503 naming them. A Service that does
     * not exist counts as listed (a warning, not a wait), and a watch that breaks later keeps its
     * cluster listed with its last endpoints. Only the start waits: once every cluster of the
     * config Sluice started with was listed, this is empty for good, so a reload that adds a
     * cluster, applied by every replica at once from the same ConfigMap, never takes them all out
     * of their Service together. Lock-free reads, from any thread.
     */
    public List<String> waitingForFirstListing() {
        if (startListed) {
            return List.of();
        }
        List<String> waiting = new ArrayList<>();
        clusters.get().values().forEach(c -> c.config().kubernetes().ifPresent(k -> {
            Followed f = watches.get(c.name());
            if (f == null || !f.applied || !f.watch.config.sameService(k)) {
                waiting.add(c.name());
            }
        }));
        waiting.sort(null);
        return waiting;
    }

    /** Makes the cluster's endpoints the reading's ready addresses, keeping the Endpoint of each that stays. */
    private void apply(Followed followed) {
        ServiceWatch watch = followed.watch;
        Reading reading = followed.reading;
        Cluster cluster = clusters.get().get(watch.cluster);
        if (reading == null || cluster == null || !watch.config.sameService(cluster.config().kubernetes().orElse(null))) {
            return;
        }
        List<Address> addresses = reading instanceof Reading.Found found ? found.addresses() : List.of();
        Map<String, Endpoint> had = new LinkedHashMap<>();
        cluster.endpoints().forEach(e -> had.put(e.address(), e));
        followed.parked.forEach(had::putIfAbsent);
        long now = nanoClock.getAsLong();
        boolean healthChecked = cluster.config().healthCheck().isPresent();
        List<Endpoint> next = new ArrayList<>();
        Map<String, Endpoint> parked = new LinkedHashMap<>();
        List<Endpoint> terminating = new ArrayList<>();
        int terminatingNow = 0;
        int notReadyNow = 0;
        for (Address a : addresses) {
            Endpoint e = had.remove(a.hostPort());
            switch (a.condition()) {
                case READY -> {
                    if (e == null) {
                        e = endpoint(cluster, a, healthChecked, now);
                    }
                    if (e != null) {
                        next.add(e);
                    }
                }
                case NOT_READY -> {
                    notReadyNow++;
                    if (e != null) {
                        parked.put(a.hostPort(), e);
                    }
                }
                case TERMINATING -> {
                    terminatingNow++;
                    if (e != null) {
                        terminating.add(e);
                    }
                }
            }
        }
        List<Endpoint> removed = new ArrayList<>(terminating);
        List<Endpoint> gone = List.copyOf(had.values());
        removed.addAll(gone);
        followed.parked = parked;
        followed.terminating = terminatingNow;
        followed.notReady = notReadyNow;
        boolean changed = !sameEndpoints(next, cluster.endpoints());
        if (changed) {
            cluster.replaceEndpoints(next);
        }
        if (changed || !removed.isEmpty()) {
            LOG.info("cluster {}: Service {} has {} ready endpoint(s) {}{}{}", watch.cluster, watch.service(),
                    next.size(), next, terminating.isEmpty() ? "" : "; draining terminating " + terminating,
                    gone.isEmpty() ? "" : "; draining removed " + gone);
            changes.endpointsChanged(cluster, removed);
        }
    }

    private static boolean sameEndpoints(List<Endpoint> a, List<Endpoint> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }

    /** A new endpoint for a ready address; null for an address that is not an IP literal (never asked of DNS). */
    private static Endpoint endpoint(Cluster cluster, Address a, boolean healthChecked, long now) {
        byte[] ip = NetUtil.createByteArrayFromIpAddressString(a.ip());
        if (ip == null) {
            LOG.warn("cluster {}: ignoring endpoint address '{}', not an IP address", cluster.name(), a.ip());
            return null;
        }
        try {
            return new Endpoint(cluster.name(), a.hostPort(), new InetSocketAddress(InetAddress.getByAddress(ip), a.port()),
                    Map.of("pod", a.pod()), 1, healthChecked, now);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of " + ip.length + " bytes", e);
        }
    }

    /** The pods two clusters' Services share, said once when found and once when gone. */
    private void findOverlaps() {
        List<Overlaps.Member> members = new ArrayList<>();
        watches.values().forEach(f -> {
            if (f.watch.listed()) {
                members.add(new Overlaps.Member(f.watch.cluster, f.watch.service(), f.watch.config.shared(),
                        f.watch.pods()));
            }
        });
        // By cluster name: the same pair is always reported the same way round.
        members.sort(java.util.Comparator.comparing(Overlaps.Member::cluster));
        List<Overlaps.Overlap> found = Overlaps.find(members);
        List<Overlaps.Overlap> before = overlaps;
        for (Overlaps.Overlap o : found) {
            if (!before.contains(o)) {
                LOG.warn("cluster {}: {}", o.cluster(), o.describe());
                problems.changed(o.cluster(), o.describe(), true);
            }
        }
        for (Overlaps.Overlap o : before) {
            if (!found.contains(o)) {
                problems.changed(o.cluster(), o.describe(), false);
                if (found.stream().noneMatch(f -> f.cluster().equals(o.cluster())
                        && f.otherCluster().equals(o.otherCluster()))) {
                    LOG.info("cluster {}: Services {} and {} no longer select the same pods", o.cluster(), o.service(),
                            o.otherService());
                }
            }
        }
        overlaps = List.copyOf(found);
    }

    /** Once a second: each watch that broke or came back, said once. */
    private void look() {
        for (Followed f : watches.values()) {
            ServiceWatch watch = f.watch;
            boolean watching = watch.watching();
            int endpoints = Optional.ofNullable(clusters.get().get(watch.cluster)).map(Cluster::size).orElse(0);
            if (!watch.listed()) {
                if (watch.error != null && !f.saidBroken) {
                    f.saidBroken = true;
                    LOG.warn("cluster {}: cannot list Service {} from the Kubernetes API at {} ({}); it has no "
                            + "endpoints until it can; retrying with backoff", watch.cluster, watch.service(), watch.api,
                            watch.error);
                }
            } else if (f.wasWatching && !watching) {
                f.saidBroken = true;
                LOG.warn("cluster {}: the watch of Service {} broke{}; keeping its {} endpoint(s) and reconnecting "
                                + "from resourceVersion {}", watch.cluster, watch.service(),
                        watch.error == null ? "" : " (" + watch.error + ")", endpoints, watch.resourceVersion());
            } else if (!f.wasWatching && watching) {
                if (f.saidBroken) {
                    f.saidBroken = false;
                    LOG.info("cluster {}: watching Service {} again, from resourceVersion {}", watch.cluster,
                            watch.service(), watch.resourceVersion());
                }
                watch.error = null;
            }
            f.wasWatching = watching;
        }
    }

    /** Each Kubernetes cluster's watch as it stands, for {@code /status}; empty for a cluster without one. */
    public Optional<Standing> standing(String cluster) {
        Followed f = watches.get(cluster);
        if (f == null) {
            // Its watch not made yet (a start or reload whose track is still on the thread, making
            // the client): listing, as a watch before its first answer.
            Cluster c = clusters.get().get(cluster);
            return c == null ? Optional.empty() : c.config().kubernetes().map(k -> new Standing(k.describe(), "listing",
                    "unknown", null, c.size(), 0, 0, null, List.of()));
        }
        ServiceWatch watch = f.watch;
        Reading reading = f.reading;
        int ready = Optional.ofNullable(clusters.get().get(cluster)).map(Cluster::size).orElse(0);
        String state = !watch.listed() ? "listing" : watch.watching() ? "watching" : "reconnecting";
        String service = reading == null ? "unknown" : switch (reading) {
            case Reading.NoService none -> "missing";
            case Reading.NoSuchPort port -> "no_such_port";
            case Reading.Found found -> "found";
        };
        String error = reading instanceof Reading.NoSuchPort port ? port.why() : watch.error;
        List<String> shared = overlaps.stream().filter(o -> o.cluster().equals(cluster) || o.otherCluster().equals(cluster))
                .map(Overlaps.Overlap::describe).toList();
        return Optional.of(new Standing(watch.service(), state, service, watch.resourceVersion(), ready, f.terminating,
                f.notReady, error, shared));
    }

    /** From now on, tells {@code problems} what is found and gone; the overlaps found so far are told at once. */
    public void reportProblemsTo(Problems problems) {
        thread.execute(() -> {
            this.problems = problems;
            overlaps.forEach(o -> problems.changed(o.cluster(), o.describe(), true));
        });
    }

    /** The pairs of clusters whose Services select the same pods now (not both {@code shared}). */
    public List<Overlaps.Overlap> overlaps() {
        return overlaps;
    }

    private CompletableFuture<Void> stop(Followed followed) {
        CompletableFuture<Void> stopped = followed.watch.stop();
        // Parked endpoints are in no cluster: nothing picks them; retiring closes what they pool.
        followed.parked.values().forEach(Endpoint::retire);
        return stopped;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        thread.execute(() -> {
            // The watches closed before their clients, so the API server sees each end cleanly.
            CompletableFuture<?>[] stopped = watches.values().stream().map(this::stop).toArray(CompletableFuture[]::new);
            try {
                CompletableFuture.allOf(stopped).get(2, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // Closing the clients ends what is left.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            watches.clear();
            clients.values().forEach(KubernetesClient::close);
            clients.clear();
        });
        thread.shutdown();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
