package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code sluice check -c FILE}: errors refuse (exit 1), warnings inform (exit 0), both as FILE:LINE:COL. */
class CheckCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private Run check(String yaml) throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, yaml);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("check", "-c", file.toString());
        return new Run(exit, out.toString(), err.toString().replace(file.toString(), "sluice.yaml"));
    }

    @Test
    void overlappingSelectorsAreRefusedNamingBothClustersAndTheirLines() throws Exception {
        Run run = check("""
                listeners:
                  - address: 0.0.0.0:8080
                endpoints:
                  - { address: 10.0.0.1:3000, labels: { app: checkout, tier: web } }
                  - { address: 10.0.0.2:3000, labels: { app: checkout, tier: worker } }
                  - { address: 10.0.0.3:3000, labels: { app: payments, tier: web } }
                routes:
                  - match: { path_prefix: /pay/ }
                    cluster: payments
                  - match: { path_prefix: / }
                    cluster: checkout
                clusters:
                  - name: checkout
                    select: { app: checkout }
                  - name: payments
                    select: { tier: web }
                """);

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).startsWith("sluice.yaml:16:13: endpoint '10.0.0.1:3000' belongs to both cluster "
                + "'checkout' (select at 14:13) and cluster 'payments' (select at 16:13); an endpoint serves one "
                + "cluster unless both clusters set 'shared: true'\n");
        assertThat(run.err()).endsWith("sluice.yaml: 1 error(s)\n");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void warningsArePrintedAsFileLineColumnAndTheConfigStillPasses() throws Exception {
        Run run = check("""
                listeners:
                  - address: 127.0.0.1:8080
                    idle_timeout: 60s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                  - match: { path: /health }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                    idle_timeout: 30s
                """);

        assertThat(run.exit()).isZero();
        assertThat(run.err().lines()).hasSize(3).allMatch(l -> l.matches("sluice\\.yaml:\\d+:\\d+: warning: .*"));
        assertThat(run.err()).contains("sluice.yaml:7:5: warning: route 'route-2' can never match: route 'route-1' (at 5:5)");
        assertThat(run.out()).isEqualTo("sluice.yaml: ok (1 listeners, 2 routes, 1 clusters); 3 warnings\n"
                .replace("sluice.yaml", dir.resolve("sluice.yaml").toString()));
    }
}
