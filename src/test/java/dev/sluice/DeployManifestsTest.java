package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ListenerConfig;
import dev.sluice.config.SluiceConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The manifests in {@code deploy/kubernetes/}, read as the API server would read them: each parses
 * into the Kubernetes API types (fabric8's model) with no field those types do not know, and what
 * must agree with Sluice's config agrees with the config shipped beside them
 * ({@code deploy/kubernetes/config/sluice.yaml}, loaded by Sluice's own {@link ConfigLoader}).
 */
class DeployManifestsTest {
    private static final Path DIR = Path.of("deploy/kubernetes");
    private static final Path SHIPPED_CONFIG = DIR.resolve("config/sluice.yaml");
    private static List<HasMetadata> manifests;

    @TempDir
    Path tmp;

    @Test
    void everyManifestIsAKnownKindWithNoFieldTheApiTypesDoNotKnow() throws IOException {
        List<HasMetadata> all = manifests();

        assertThat(all).extracting(HasMetadata::getKind).containsExactlyInAnyOrder("ConfigMap", "Deployment",
                "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount", "Role", "RoleBinding", "Service");
        for (HasMetadata resource : all) {
            assertThat(resource).as(resource.getKind()).isNotInstanceOf(GenericKubernetesResource.class);
            assertThat(unknownFields(resource)).as("fields of %s %s the API types do not know", resource.getKind(),
                    resource.getMetadata().getName()).isEmpty();
        }
    }

    @Test
    void aMisspelledFieldIsFoundWhereverItIsAndAMistypedOneIsRefused() {
        HasMetadata misspelled = Serialization.unmarshal("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: { name: d }
                spec:
                  template:
                    spec:
                      containers:
                        - name: c
                          readinesProbe: { httpGet: { path: /ready, port: 9901 } }
                          livenessProbe: { httpGet: { path: /live, port: 9901, sheme: HTTP } }
                      terminationGracePeriodSecond: 45
                """);

        assertThat(unknownFields(misspelled)).containsExactlyInAnyOrder(
                "spec.template.spec.containers[0].readinesProbe",
                "spec.template.spec.containers[0].livenessProbe.httpGet.sheme",
                "spec.template.spec.terminationGracePeriodSecond");
        assertThatThrownBy(() -> Serialization.unmarshal("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: { name: d }
                spec: { template: { spec: { terminationGracePeriodSeconds: forty } } }
                """)).hasMessageContaining("\"forty\": not a valid `java.lang.Long` value");
    }

    @Test
    void theConfigMapHoldsTheShippedConfigAndTheContainerReadsItFromAMountThatSeesChanges() throws Exception {
        ConfigMap configMap = only(ConfigMap.class);
        PodSpec pod = only(Deployment.class).getSpec().getTemplate().getSpec();
        Sluice.Run run = runCommand(sluiceContainer());
        Path config = run.config;

        Volume volume = volumeMountedAt(pod, sluiceContainer(), config.getParent());
        assertThat(volume.getConfigMap()).as("the volume at %s", config.getParent()).isNotNull();
        assertThat(volume.getConfigMap().getName()).isEqualTo(configMap.getMetadata().getName());
        assertThat(configMap.getData().get(config.getFileName().toString()))
                .as("the ConfigMap's %s (regenerate configmap.yaml from %s)", config.getFileName(), SHIPPED_CONFIG)
                .isEqualTo(Files.readString(SHIPPED_CONFIG));
        // A subPath mount is a copy made when the container starts: the ConfigMap's changes never reach it.
        assertThat(mountAt(sluiceContainer(), config.getParent()).getSubPath()).isNull();
        assertThat(sluiceContainer().getArgs()).contains("--watch-config");
        // The root file system is read-only: versions go to a volume of their own.
        assertThat(sluiceContainer().getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(volumeMountedAt(pod, sluiceContainer(), run.stateDir).getEmptyDir()).isNotNull();
    }

    @Test
    void probesAskTheAdminListenerForLiveAndReady() throws Exception {
        int admin = shippedConfig().admin().orElseThrow().address().port();
        Container sluice = sluiceContainer();

        assertThat(sluice.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
        assertThat(sluice.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/live");
        assertThat(sluice.getStartupProbe().getHttpGet().getPath()).isEqualTo("/live");
        for (Probe probe : List.of(sluice.getReadinessProbe(), sluice.getLivenessProbe(), sluice.getStartupProbe())) {
            assertThat(portNumber(sluice, probe.getHttpGet().getPort())).isEqualTo(admin);
        }
    }

    @Test
    void theGracePeriodOutlastsTheDrainAndReadinessFailsWithinItsDelay() throws Exception {
        SluiceConfig config = shippedConfig();
        Deployment deployment = only(Deployment.class);
        Probe readiness = sluiceContainer().getReadinessProbe();

        Duration grace = Duration.ofSeconds(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds());
        assertThat(grace).as("terminationGracePeriodSeconds against drain.delay + drain.timeout")
                .isGreaterThanOrEqualTo(config.drain().total());
        // The kubelet's own view of readiness must turn before drain.delay ends.
        Duration notReadyAfter = Duration.ofSeconds((long) readiness.getPeriodSeconds() * readiness.getFailureThreshold());
        assertThat(notReadyAfter).isLessThan(config.drain().delay());
        assertThat(sluiceContainer().getLifecycle()).as("no preStop hook: drain.delay is that wait").isNull();
        assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable()).isEqualTo(new IntOrString(0));
    }

    @Test
    void containerPortsAreTheListenersAndTheAdminAndTheServiceSendsToAListener() throws Exception {
        SluiceConfig config = shippedConfig();
        Container sluice = sluiceContainer();
        Set<Integer> listeners = config.listeners().stream().map(l -> l.address().port()).collect(Collectors.toSet());
        int admin = config.admin().orElseThrow().address().port();

        Set<Integer> declared = sluice.getPorts().stream().map(ContainerPort::getContainerPort).collect(Collectors.toSet());
        assertThat(declared).isEqualTo(union(listeners, admin));
        for (ListenerConfig listener : config.listeners()) {
            assertThat(listener.address().host()).as("listener %s must take the pod's traffic", listener.name())
                    .isEqualTo("0.0.0.0");
        }
        Service service = only(Service.class);
        for (var port : service.getSpec().getPorts()) {
            assertThat(listeners).as("the Service's port %s", port.getName()).contains(portNumber(sluice, port.getTargetPort()));
        }
    }

    @Test
    void selectorsMatchSluicesPodsAndOnlyThem() throws IOException {
        Deployment deployment = only(Deployment.class);
        Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
        Map<String, String> selector = deployment.getSpec().getSelector().getMatchLabels();

        assertThat(podLabels).containsAllEntriesOf(selector);
        assertThat(only(Service.class).getSpec().getSelector()).isEqualTo(selector);
        assertThat(only(PodDisruptionBudget.class).getSpec().getSelector().getMatchLabels()).isEqualTo(selector);
        HorizontalPodAutoscaler hpa = only(HorizontalPodAutoscaler.class);
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(deployment.getMetadata().getName());
        assertThat(deployment.getSpec().getReplicas()).as("the HPA owns the replica count").isNull();
        assertThat(sluiceContainer().getResources().getRequests()).containsKeys("cpu", "memory");
    }

    @Test
    void thePodsServiceAccountMayListAndWatchEndpointSlicesServicesAndPods() throws IOException {
        String account = only(Deployment.class).getSpec().getTemplate().getSpec().getServiceAccountName();
        Role role = only(Role.class);
        RoleBinding binding = only(RoleBinding.class);

        assertThat(only(ServiceAccount.class).getMetadata().getName()).isEqualTo(account);
        assertThat(binding.getSubjects()).anySatisfy(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(account);
        });
        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        for (String[] groupAndResource : List.of(new String[] {"discovery.k8s.io", "endpointslices"},
                new String[] {"", "services"}, new String[] {"", "pods"})) {
            assertThat(role.getRules()).as("%s/%s", groupAndResource[0], groupAndResource[1])
                    .anySatisfy(rule -> {
                        assertThat(rule.getApiGroups()).contains(groupAndResource[0]);
                        assertThat(rule.getResources()).contains(groupAndResource[1]);
                        assertThat(rule.getVerbs()).contains("list", "watch");
                    });
        }
        assertThat(role.getRules()).flatExtracting(PolicyRule::getVerbs).containsOnly("get", "list", "watch");
    }

    @Test
    void everyWatchedServiceIsInTheNamespaceTheRoleGrants() throws Exception {
        List<ClusterConfig> watched = shippedConfig().clusters().stream().filter(c -> c.kubernetes().isPresent()).toList();

        assertThat(watched).as("clusters[].kubernetes in %s", SHIPPED_CONFIG).isNotEmpty();
        // A Role grants its own namespace only, and a cluster without a namespace watches Sluice's own.
        assertThat(watched).allSatisfy(c -> assertThat(c.kubernetes().orElseThrow().namespace())
                .as("cluster %s's namespace", c.name()).isEmpty());
        assertThat(watched).allSatisfy(c -> assertThat(c.kubernetes().orElseThrow().kubeconfig())
                .as("cluster %s's kubeconfig: in a pod, the service account's", c.name()).isEmpty());
    }

    @Test
    void theAdminTokenFileIsWhereTheDeploymentMountsTheSecret() throws IOException {
        String text = Files.readString(SHIPPED_CONFIG);
        Path tokenFile = Path.of(tokenFilePath(text));
        Volume volume = volumeMountedAt(only(Deployment.class).getSpec().getTemplate().getSpec(), sluiceContainer(),
                tokenFile.getParent());

        assertThat(volume.getSecret()).as("the volume at %s", tokenFile.getParent()).isNotNull();
        assertThat(volume.getSecret().getItems()).isNullOrEmpty();
        // 0440 (the group is the pod's fsGroup): no warning that others can read it.
        assertThat(volume.getSecret().getDefaultMode() & 0007).isZero();
    }

    /** The config beside the manifests, as Sluice loads it; its admin token file is made here. */
    private SluiceConfig shippedConfig() throws Exception {
        String text = Files.readString(SHIPPED_CONFIG);
        String tokenFile = tokenFilePath(text);
        Path token = tmp.resolve("token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef\n");
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return ConfigLoader.parse(text.replace(tokenFile, token.toString()), SHIPPED_CONFIG.toString());
    }

    private static String tokenFilePath(String configText) {
        return configText.lines().map(String::strip).filter(l -> l.startsWith("token_file:"))
                .map(l -> l.substring("token_file:".length()).strip()).findFirst()
                .orElseThrow(() -> new AssertionError(SHIPPED_CONFIG + " has no admin.token_file"));
    }

    private static Sluice.Run runCommand(Container container) {
        CommandLine.ParseResult parsed = new CommandLine(new Sluice()).parseArgs(container.getArgs().toArray(String[]::new));
        assertThat(parsed.subcommand()).as("the container's args are a `sluice run`").isNotNull();
        return (Sluice.Run) parsed.subcommand().commandSpec().userObject();
    }

    private static Container sluiceContainer() throws IOException {
        return only(Deployment.class).getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getName().equals("sluice")).findFirst().orElseThrow();
    }

    private static VolumeMount mountAt(Container container, Path folder) {
        return container.getVolumeMounts().stream().filter(m -> Path.of(m.getMountPath()).equals(folder)).findFirst()
                .orElseThrow(() -> new AssertionError("nothing is mounted at " + folder));
    }

    private static Volume volumeMountedAt(PodSpec pod, Container container, Path folder) {
        String name = mountAt(container, folder).getName();
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    /** A port as a probe or a Service names it: a number, or the name of one of the container's ports. */
    private static int portNumber(Container container, IntOrString port) {
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        return container.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName())).findFirst()
                .map(ContainerPort::getContainerPort)
                .orElseThrow(() -> new AssertionError("the container has no port named " + port.getStrVal()));
    }

    private static Set<Integer> union(Set<Integer> ports, int one) {
        return Stream.concat(ports.stream(), Stream.of(one)).collect(Collectors.toSet());
    }

    private static <T extends HasMetadata> T only(Class<T> type) throws IOException {
        List<T> found = manifests().stream().filter(type::isInstance).map(type::cast).toList();
        assertThat(found).as("%s in %s", type.getSimpleName(), DIR).hasSize(1);
        return found.get(0);
    }

    /** Every resource of every {@code *.yaml} in {@link #DIR} (documents split at {@code ---}), read once. */
    static synchronized List<HasMetadata> manifests() throws IOException {
        if (manifests != null) {
            return manifests;
        }
        List<HasMetadata> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                for (String document : Files.readString(file).split("(?m)^---\\s*$")) {
                    boolean onlyComments = document.lines().map(String::strip).allMatch(l -> l.isEmpty() || l.startsWith("#"));
                    if (!onlyComments) {
                        all.add(Serialization.unmarshal(document));
                    }
                }
            }
        }
        manifests = List.copyOf(all);
        return manifests;
    }

    /**
     * The paths of every field fabric8's types did not know. The model keeps such a field (and one
     * whose value has the wrong type) in the {@code additionalProperties} of the object that has
     * it, rather than failing, so the whole tree is walked for them.
     */
    static List<String> unknownFields(Object resource) {
        List<String> found = new ArrayList<>();
        walk(resource, "", found);
        return found;
    }

    private static void walk(Object value, String path, List<String> found) {
        if (value instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                walk(list.get(i), path + "[" + i + "]", found);
            }
        } else if (value instanceof Map<?, ?> map) {
            map.forEach((key, v) -> walk(v, path + "." + key, found));
        } else if (value != null && value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model.")) {
            for (Class<?> type = value.getClass(); type != Object.class; type = type.getSuperclass()) {
                for (Field field : type.getDeclaredFields()) {
                    if (Modifier.isStatic(field.getModifiers())) {
                        continue;
                    }
                    field.setAccessible(true);
                    Object fieldValue;
                    try {
                        fieldValue = field.get(value);
                    } catch (IllegalAccessException e) {
                        throw new AssertionError(e);
                    }
                    if (field.getName().equals("additionalProperties") && fieldValue instanceof Map<?, ?> extra) {
                        extra.keySet().forEach(key -> found.add((path.isEmpty() ? "" : path + ".") + key));
                    } else {
                        walk(fieldValue, (path.isEmpty() ? "" : path + ".") + jsonName(field), found);
                    }
                }
            }
        }
    }

    private static String jsonName(Field field) {
        var property = field.getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
        return property != null && !property.value().isEmpty() ? property.value() : field.getName();
    }
}
