package dev.sluice.control;

/** The configs the control-plane scenarios start Sluice with, on free ports, with an admin listener and no access log. */
final class ControlConfigs {
    private ControlConfigs() {
    }

    /** Route {@code api} sends everything to cluster {@code api} at {@code endpoints}; {@code extra} is appended (whole lines). */
    static String oneCluster(String endpoints, String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: / }
                    cluster: api
                clusters:
                  - name: api
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                %s""".formatted(endpoints, extra);
    }

    /** Route {@code a} sends /a/ to cluster a at {@code aEndpoint}, route {@code b} everything else to b at {@code bEndpoint}. */
    static String twoClusters(String aEndpoint, String bEndpoint, String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: a
                    match: { path_prefix: /a/ }
                    cluster: a
                  - name: b
                    match: { path_prefix: / }
                    cluster: b
                clusters:
                  - name: a
                    endpoints: [%s]
                  - name: b
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                %s""".formatted(aEndpoint, bEndpoint, extra);
    }
}
