package dev.sluice;

import dev.sluice.admin.AdminServer;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.observe.AccessLog;
import dev.sluice.server.Gateway;
import dev.sluice.server.Snapshot;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Sluice: the gateway, its admin API and its access log, and the control-plane
 * operations on them. Everything here runs off the event loops.
 */
public final class Instance implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Instance.class);

    private final Optional<Path> configFile;
    private final Gateway gateway;
    private final AccessLog accessLog;
    private AdminServer admin;
    private final long startedMillis = System.currentTimeMillis();
    private int configVersion = 1;

    private Instance(Optional<Path> configFile, Gateway gateway, AccessLog accessLog) {
        this.configFile = configFile;
        this.gateway = gateway;
        this.accessLog = accessLog;
    }

    /** Starts everything the config describes; on failure nothing is left running. */
    public static Instance start(SluiceConfig config, Optional<Path> configFile) throws IOException, InterruptedException {
        AccessLog accessLog = openAccessLog(config);
        Gateway gateway = null;
        try {
            gateway = Gateway.start(config, accessLog);
            Instance instance = new Instance(configFile, gateway, accessLog);
            if (config.admin().isPresent()) {
                instance.admin = AdminServer.start(config.admin().get().address(), instance.operations());
            }
            return instance;
        } catch (RuntimeException | InterruptedException e) {
            if (gateway != null) {
                gateway.close();
            }
            accessLog.close();
            throw e;
        }
    }

    private static AccessLog openAccessLog(SluiceConfig config) throws IOException {
        if (!config.accessLog().enabled()) {
            return AccessLog.DISABLED;
        }
        return config.accessLog().path().isPresent()
                ? AccessLog.toFile(Path.of(config.accessLog().path().get()))
                : AccessLog.toStream(System.out);
    }

    public Gateway gateway() {
        return gateway;
    }

    public List<InetSocketAddress> listenerAddresses() {
        return gateway.boundAddresses();
    }

    public Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::address);
    }

    /**
     * Re-reads the config file and swaps routes and clusters in whole. A config with errors is
     * refused and the running one keeps serving. Listener changes need a restart for now.
     */
    public synchronized ConfigException reload() {
        if (configFile.isEmpty()) {
            return null;
        }
        try {
            SluiceConfig next = ConfigLoader.load(configFile.get());
            if (!next.listeners().equals(gateway.snapshot().config().listeners())) {
                LOG.warn("listener changes in {} take effect at the next restart", configFile.get());
            }
            gateway.apply(next);
            configVersion++;
            LOG.info("reloaded {} (config version {})", configFile.get(), configVersion);
            return null;
        } catch (ConfigException e) {
            LOG.error("refused to reload {}; the running config stays:\n{}", configFile.get(), e.getMessage());
            return e;
        }
    }

    AdminServer.Operations operations() {
        return new AdminServer.Operations() {
            @Override
            public boolean ready() {
                return !gateway.draining();
            }

            @Override
            public Map<String, Object> status() {
                return Instance.this.status();
            }

            @Override
            public AdminServer.AdminResponse handle(HttpMethod method, String path, Map<String, String> query,
                                                    String body) {
                if (HttpMethod.POST.equals(method) && path.equals("/reload")) {
                    ConfigException refused = reload();
                    return refused == null
                            ? AdminServer.AdminResponse.json(200, Map.of("reloaded", true, "version", configVersion))
                            : AdminServer.AdminResponse.json(400, Map.of("reloaded", false,
                                    "errors", refused.problems().stream().map(Object::toString).toList()));
                }
                return null;
            }
        };
    }

    Map<String, Object> status() {
        Snapshot snapshot = gateway.snapshot();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("state", gateway.draining() ? "draining" : "serving");
        status.put("config_version", configVersion);
        status.put("config_source", snapshot.config().source());
        status.put("uptime_seconds", (System.currentTimeMillis() - startedMillis) / 1000);
        status.put("client_connections", gateway.openClientConnections());
        status.put("access_log_dropped_lines", accessLog.droppedLines());
        List<Map<String, Object>> listeners = new ArrayList<>();
        for (int i = 0; i < snapshot.config().listeners().size(); i++) {
            var l = snapshot.config().listeners().get(i);
            listeners.add(Map.of("name", l.name(), "address", String.valueOf(gateway.boundAddresses().get(i)),
                    "state", gateway.draining() ? "draining" : "active"));
        }
        status.put("listeners", listeners);
        status.put("routes", snapshot.routes().routes().stream()
                .map(r -> Map.of("name", r.name(), "cluster", r.cluster())).toList());
        List<Map<String, Object>> clusters = new ArrayList<>();
        for (Cluster c : snapshot.clusters().values()) {
            List<Map<String, Object>> endpoints = new ArrayList<>();
            for (Endpoint e : c.endpoints()) {
                endpoints.add(Map.of("address", e.address(), "labels", e.labels(), "state", "active"));
            }
            clusters.add(Map.of("name", c.name(), "load_balancer", c.config().loadBalancer().name().toLowerCase(),
                    "endpoints", endpoints));
        }
        status.put("clusters", clusters);
        return status;
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close();
        }
        gateway.close();
        accessLog.close();
    }
}
