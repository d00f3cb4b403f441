package dev.sluice.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.KubernetesConfig.Port;
import dev.sluice.kubernetes.SliceEndpoints.Address;
import dev.sluice.kubernetes.SliceEndpoints.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What slices say, read as values: conditions, ports, the same address in two slices. */
class SliceEndpointsTest {

    private static Endpoint endpoint(String pod, String ip, Boolean ready, Boolean terminating) {
        EndpointBuilder b = new EndpointBuilder().withAddresses(ip)
                .withTargetRef(new ObjectReferenceBuilder().withKind("Pod").withNamespace("shop").withName(pod).build());
        if (ready != null || terminating != null) {
            b.withNewConditions().withReady(ready).withTerminating(terminating).endConditions();
        }
        return b.build();
    }

    private static EndpointSlice slice(String portName, int port, Endpoint... endpoints) {
        return new EndpointSliceBuilder().withNewMetadata().withName("s").withNamespace("shop").endMetadata()
                .withAddressType("IPv4").addNewPort().withName(portName).withPort(port).endPort()
                .withEndpoints(endpoints).build();
    }

    private static Service service(String... namesAndPorts) {
        ServiceBuilder b = new ServiceBuilder().withNewMetadata().withName("web").endMetadata().withNewSpec().endSpec();
        for (int i = 0; i < namesAndPorts.length; i += 2) {
            b.editSpec().addToPorts(new ServicePortBuilder().withName(namesAndPorts[i])
                    .withPort(Integer.parseInt(namesAndPorts[i + 1])).withTargetPort(new IntOrString(8080)).build())
                    .endSpec();
        }
        return b.build();
    }

    @Test
    void readyTerminatingAndNotReadyAreToldApartAndANilReadyIsReady() {
        List<Address> found = SliceEndpoints.addresses(List.of(slice("http", 8080,
                endpoint("a", "10.0.0.1", true, false),
                endpoint("b", "10.0.0.2", false, true),
                endpoint("c", "10.0.0.3", false, false),
                endpoint("d", "10.0.0.4", null, null))), "http");
        assertThat(found).extracting(Address::hostPort, Address::condition, Address::pod).containsExactly(
                org.assertj.core.groups.Tuple.tuple("10.0.0.1:8080", Condition.READY, "shop/a"),
                org.assertj.core.groups.Tuple.tuple("10.0.0.2:8080", Condition.TERMINATING, "shop/b"),
                org.assertj.core.groups.Tuple.tuple("10.0.0.3:8080", Condition.NOT_READY, "shop/c"),
                org.assertj.core.groups.Tuple.tuple("10.0.0.4:8080", Condition.READY, "shop/d"));
    }

    @Test
    void anAddressInTwoSlicesCountsOnceAndReadyIfEitherSaysSo() {
        List<Address> found = SliceEndpoints.addresses(List.of(
                slice("http", 8080, endpoint("a", "10.0.0.1", false, false)),
                slice("http", 8080, endpoint("a", "10.0.0.1", true, false))), "http");
        assertThat(found).singleElement().extracting(Address::condition).isEqualTo(Condition.READY);
    }

    @Test
    void onlySlicesWithThePortCountAndTheirPortIsThePods() {
        List<Address> found = SliceEndpoints.addresses(List.of(
                slice("metrics", 9090, endpoint("a", "10.0.0.1", true, false)),
                slice("http", 8080, endpoint("b", "10.0.0.2", true, false))), "http");
        assertThat(found).extracting(Address::hostPort).containsExactly("10.0.0.2:8080");
        assertThat(SliceEndpoints.pods(List.of(slice("metrics", 9090, endpoint("a", "10.0.0.1", true, false)),
                slice("http", 8080, endpoint("b", "10.0.0.2", true, false))))).containsExactly("shop/a", "shop/b");
    }

    @Test
    void theConfigsPortIsFoundOnTheServiceByNameOrByItsNumber() {
        Service web = service("http", "80", "metrics", "9090");
        StringBuilder why = new StringBuilder();
        assertThat(SliceEndpoints.portName(web, Optional.of(new Port.Named("metrics")), why)).contains("metrics");
        assertThat(SliceEndpoints.portName(web, Optional.of(new Port.Numbered(80)), why)).contains("http");
        assertThat(SliceEndpoints.portName(web, Optional.of(new Port.Numbered(8080)), why)).as("not the target port")
                .isEmpty();
        assertThat(why.toString()).isEqualTo("the Service has no port 8080 (it has http 80, metrics 9090)");
        StringBuilder which = new StringBuilder();
        assertThat(SliceEndpoints.portName(web, Optional.empty(), which)).isEmpty();
        assertThat(which.toString()).isEqualTo("the Service has 2 ports (http 80, metrics 9090); say which with 'port'");
        assertThat(SliceEndpoints.portName(service("", "80"), Optional.empty(), which)).as("an unnamed only port")
                .contains("");
    }

    @Test
    void twoServicesSharingAPodAreAnOverlapUnlessBothAreShared() {
        var web = new Overlaps.Member("web", "shop/website", false, java.util.Set.of("shop/web-0", "shop/es-0"));
        var search = new Overlaps.Member("search", "shop/elasticsearch", true, java.util.Set.of("shop/es-0"));
        assertThat(Overlaps.find(List.of(web, search))).singleElement().satisfies(o -> {
            assertThat(o.pods()).containsExactly("shop/es-0");
            assertThat(o.describe()).startsWith("Services shop/website (cluster 'web') and shop/elasticsearch "
                    + "(cluster 'search') select the same pod: shop/es-0;");
        });
        var sharedWeb = new Overlaps.Member("web", "shop/website", true, web.pods());
        assertThat(Overlaps.find(List.of(sharedWeb, search))).isEmpty();
    }
}
