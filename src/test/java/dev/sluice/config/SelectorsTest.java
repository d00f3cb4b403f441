package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code clusters[].select} over the shared {@code endpoints:} inventory, and the overlapping-
 * selectors incident it guards against: one service's traffic reaching another's pods.
 */
class SelectorsTest {
    /** Line numbers in the assertions count from this text. */
    private static final String INVENTORY = """
            listeners:
              - address: 127.0.0.1:8080
            endpoints:
              - { address: 10.0.0.1:3000, labels: { app: web, track: stable } }
              - { address: 10.0.0.2:3000, labels: { app: web, track: canary } }
              - { address: 10.0.0.3:3000, labels: { app: api } }
            routes:
              - match: { path_prefix: /api/ }
                cluster: api
              - match: { path_prefix: / }
                cluster: web
            """;

    @Test
    void aClusterTakesTheInventoryEndpointsThatCarryAllOfItsLabels() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web, track: stable }
                  - name: api
                    select: { app: api }
                  - name: canary
                    select: { track: canary }
                """, "test.yaml");

        assertThat(addresses(config, "web")).containsExactly("10.0.0.1:3000");
        assertThat(addresses(config, "api")).containsExactly("10.0.0.3:3000");
        assertThat(addresses(config, "canary")).containsExactly("10.0.0.2:3000");
        assertThat(config.cluster("web").orElseThrow().select()).isEqualTo(Map.of("app", "web", "track", "stable"));
        assertThat(config.cluster("web").orElseThrow().endpoints().get(0).labels())
                .isEqualTo(Map.of("app", "web", "track", "stable"));
    }

    @Test
    void listedAndSelectedEndpointsTogetherMakeTheCluster() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(INVENTORY + """
                clusters:
                  - name: web
                    endpoints: [10.0.9.9:3000]
                    select: { app: web }
                  - name: api
                    select: { app: api }
                """, "test.yaml");

        assertThat(addresses(config, "web")).containsExactly("10.0.9.9:3000", "10.0.0.1:3000", "10.0.0.2:3000");
    }

    @Test
    void anEndpointSelectedByTwoClustersIsAnErrorNamingBothClustersAndTheirLines() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    select: { app: api }
                  - name: stable
                    select: { track: stable }
                """)).containsExactly("18:13: endpoint '10.0.0.1:3000' belongs to both cluster 'web' (select at 14:13) "
                + "and cluster 'stable' (select at 18:13); an endpoint serves one cluster unless both clusters set "
                + "'shared: true'");
    }

    @Test
    void overlapsBetweenTwoClustersAreOneErrorListingTheEndpoints() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    select: { app: api }
                  - name: everything-web
                    endpoints: [10.0.0.2:3000]
                    select: { app: web, track: stable }
                """)).containsExactly("19:13: endpoints '10.0.0.1:3000', '10.0.0.2:3000' belong to both cluster 'web' "
                + "(select at 14:13) and cluster 'everything-web' (select at 19:13); an endpoint serves one cluster "
                + "unless both clusters set 'shared: true'");
    }

    @Test
    void twoClustersThatBothSayTheyAreSharedMayOverlap() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                    shared: true
                  - name: api
                    select: { app: api }
                  - name: stable
                    select: { track: stable }
                    shared: true
                """, "test.yaml");

        assertThat(addresses(config, "stable")).containsExactly("10.0.0.1:3000");
        assertThat(config.cluster("stable").orElseThrow().shared()).isTrue();
    }

    @Test
    void sharedOnOnlyOneSideIsStillAnErrorThatSaysWhichSideLacksIt() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                    shared: true
                  - name: api
                    select: { app: api }
                  - name: stable
                    select: { track: stable }
                """)).singleElement().asString()
                .contains("cluster 'web' (select at 14:13) and cluster 'stable' (select at 19:13)")
                .endsWith("('web' sets it, 'stable' does not)");
    }

    @Test
    void theSameAddressListedInTwoClustersWithoutSelectorsIsStillAllowed() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: /canary/ }
                    cluster: canary
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                  - name: canary
                    endpoints: [127.0.0.1:9001]
                """, "test.yaml");

        assertThat(config.clusters()).hasSize(2);
    }

    @Test
    void aSelectorThatMatchesNothingLeavesTheClusterWithNoEndpointsWhichIsAnError() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    select: { app: apii }
                """)).containsExactly("16:13: cluster 'api' has no endpoints: select {app: apii} matches none of the "
                + "3 endpoints in the inventory (it has app: web, app: api)");
    }

    @Test
    void aClusterWithNeitherEndpointsNorSelectIsAnError() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    connect_timeout: 1s
                """)).containsExactly("15:5: missing required key 'endpoints' in clusters[1] (or 'select', to take "
                + "endpoints by label from the top-level 'endpoints' inventory, or 'kubernetes', to take them from a "
                + "Service's EndpointSlices)");
    }

    @Test
    void selectWithoutAnInventoryIsAnError() {
        assertThat(problems("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: web
                clusters:
                  - name: web
                    select: { app: web }
                """)).singleElement().asString()
                .startsWith("8:13: clusters[0].select: there is no top-level 'endpoints' inventory to select from");
    }

    @Test
    void anEmptySelectorIsRefusedRatherThanTakingEverything() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    select: {}
                  - name: api
                    select: { app: api }
                """)).singleElement().asString().startsWith("14:13: clusters[0].select: an empty selector would take "
                + "every endpoint of the inventory");
    }

    @Test
    void anEndpointBothListedAndSelectedByOneClusterIsAnError() {
        assertThat(problems(INVENTORY + """
                clusters:
                  - name: web
                    endpoints: [10.0.0.1:3000]
                    select: { app: web }
                  - name: api
                    select: { app: api }
                """)).containsExactly("15:13: cluster 'web' lists endpoint '10.0.0.1:3000' at 14:17 and also selects "
                + "it; it would get twice the traffic");
    }

    @Test
    void duplicateAddressesInTheInventoryAreAnError() {
        assertThat(problems(INVENTORY.replace("10.0.0.3:3000", "10.0.0.1:3000") + """
                clusters:
                  - name: web
                    select: { app: web }
                  - name: api
                    select: { app: api }
                """)).containsExactly(
                "6:5: endpoints[2]: duplicate endpoint '10.0.0.1:3000' (first listed at 4:5)",
                "16:13: cluster 'api' has no endpoints: select {app: api} matches none of the 2 endpoints in the "
                        + "inventory (it has app: web)");
    }

    @Test
    void anInventoryEndpointNoClusterSelectsIsAWarning() throws ConfigException {
        CheckedConfig checked = ConfigLoader.parseWithWarnings(INVENTORY + """
                clusters:
                  - name: web
                    select: { app: web, track: stable }
                  - name: api
                    select: { app: api }
                """, "test.yaml");

        assertThat(checked.warnings()).extracting(ConfigWarning::toString).containsExactly(
                "test.yaml:5:5: warning: endpoint '10.0.0.2:3000' is in the inventory but no cluster selects it, "
                        + "so it gets no traffic");
    }

    private static List<String> addresses(SluiceConfig config, String cluster) {
        return config.cluster(cluster).orElseThrow().endpoints().stream().map(e -> e.address().toString()).toList();
    }
}
