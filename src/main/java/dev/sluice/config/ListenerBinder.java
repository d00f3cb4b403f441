package dev.sluice.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** Binds {@code listeners[]}, and checks that no two listeners share a name or clash on an address. */
final class ListenerBinder {
    /** 600 s: how long Google Cloud's load balancers keep an idle connection to a backend (and a
     * common choice for others). A listener that closes idle connections sooner races with a
     * balancer reusing one: the request it sends as Sluice closes fails with a 502. */
    static final Duration COMMON_BALANCER_IDLE = Duration.ofSeconds(600);

    private static final String PATH = "listeners";
    private static final List<String> KEYS = List.of("name", "address", "idle_timeout", "header_timeout", "body_timeout",
            "max_request_line", "max_header_size", "max_headers", "trusted_proxies", "max_connections",
            "idle_timeout_under_pressure", "max_body", "tls", "redirect_https",
            "websocket_idle_timeout", "http2");
    private static final List<String> HTTP2_KEYS = List.of("enabled", "h2c", "max_concurrent_streams",
            "max_header_list_size", "header_table_size", "max_small_continuation_frames", "max_resets", "reset_window");
    private static final String AUTO = "auto";
    private static final String MAX_CONNECTIONS_VALUES = "auto or a whole number of at least 1";

    private final Values values;
    private final FirstSeen<String> names = new FirstSeen<>();
    private final FirstSeen<HostPort> addresses = new FirstSeen<>();

    private final TlsBinder tls;

    ListenerBinder(Values values) {
        this.values = values;
        this.tls = new TlsBinder(values, values.problems().source());
    }

    List<ListenerConfig> bind(YamlNode node) {
        List<ListenerConfig> listeners = new ArrayList<>();
        values.list(node, PATH).ifPresent(list -> {
            if (list.items().isEmpty()) {
                values.invalid(list, PATH, "at least one listener is required");
            }
            for (int i = 0; i < list.items().size(); i++) {
                bindOne(list.items().get(i), Paths.item(PATH, i)).ifPresent(listeners::add);
            }
        });
        return listeners;
    }

    /** Where a listener already binds {@code address}, so the admin listener cannot take it too. */
    Optional<Position> addressAt(HostPort address) {
        return address.port() == 0 ? Optional.empty() : addresses.firstAt(address);
    }

    /** A listener address that cannot be bound together with {@code address} (a wildcard on the same port). */
    Optional<HostPort> clashingWith(HostPort address) {
        if (address.port() == 0) {
            return Optional.empty();
        }
        return addresses.keys().stream().filter(other -> !other.equals(address) && clash(address, other)).findFirst();
    }

    Position at(HostPort listenerAddress) {
        return addresses.firstAt(listenerAddress).orElse(Position.START);
    }

    /**
     * True when the OS refuses to bind both: the same port, and the same host or a wildcard that
     * covers the other ({@code 0.0.0.0} covers IPv4, {@code [::]} covers everything on Linux's
     * default dual-stack sockets); {@code localhost} is 127.0.0.1 and ::1.
     */
    static boolean clash(HostPort a, HostPort b) {
        if (a.port() != b.port() || a.port() == 0) {
            return false;
        }
        String x = canonical(a.host());
        String y = canonical(b.host());
        if (x.equals(y) || x.equals("::") || y.equals("::")) {
            return true;
        }
        if (x.equals("localhost") || y.equals("localhost")) {
            String other = x.equals("localhost") ? y : x;
            return other.equals("127.0.0.1") || other.equals("::1") || other.equals("0.0.0.0");
        }
        return (x.equals("0.0.0.0") && !y.contains(":")) || (y.equals("0.0.0.0") && !x.contains(":"));
    }

    private static String canonical(String host) {
        String lower = host.toLowerCase(java.util.Locale.ROOT);
        return lower.equals("0:0:0:0:0:0:0:0") ? "::" : lower.equals("0:0:0:0:0:0:0:1") ? "::1" : lower;
    }

    private static String whyClash(HostPort a, HostPort b) {
        String wildcard = canonical(a.host()).equals("::") || canonical(b.host()).equals("::") ? "[::]"
                : canonical(a.host()).equals("0.0.0.0") || canonical(b.host()).equals("0.0.0.0") ? "0.0.0.0" : null;
        if (wildcard == null) {
            return "both are the same interface";
        }
        return wildcard + " already takes port " + a.port() + " on every "
                + (wildcard.equals("0.0.0.0") ? "IPv4 address" : "address, IPv4 included")
                + ", so the other bind would fail";
    }

    private Optional<ListenerConfig> bindOne(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<YamlNode> addressNode = f.required("address");
        Optional<HostPort> address = addressNode.flatMap(n -> values.address(n, f.path("address"), 0));
        Optional<String> name = f.optional("name").flatMap(n -> values.name(n, f.path("name")));
        Duration idleTimeout = f.optional("idle_timeout").flatMap(n -> values.duration(n, f.path("idle_timeout")))
                .orElse(ListenerConfig.DEFAULT_IDLE_TIMEOUT);
        if (idleTimeout.compareTo(COMMON_BALANCER_IDLE) < 0) {
            values.problems().warn(f.optional("idle_timeout").get().at(), f.path("idle_timeout") + ": "
                    + Durations.format(idleTimeout) + " is below 600s, the idle timeout of common load balancers "
                    + "(Google Cloud's); a balancer that keeps an idle connection longer than Sluice may send a "
                    + "request on it just as Sluice closes it, and that request fails with a 502. Keep it above "
                    + "the balancer's idle timeout (the default 620s is)");
        }
        Duration headerTimeout = f.optional("header_timeout").flatMap(n -> values.duration(n, f.path("header_timeout")))
                .orElse(ListenerConfig.DEFAULT_HEADER_TIMEOUT);
        Duration bodyTimeout = f.optional("body_timeout").flatMap(n -> values.duration(n, f.path("body_timeout")))
                .orElse(ListenerConfig.DEFAULT_BODY_TIMEOUT);
        int maxRequestLine = f.optional("max_request_line").flatMap(n -> size(n, f.path("max_request_line")))
                .orElse(ListenerConfig.DEFAULT_MAX_REQUEST_LINE);
        int maxHeaderSize = f.optional("max_header_size").flatMap(n -> size(n, f.path("max_header_size")))
                .orElse(ListenerConfig.DEFAULT_MAX_HEADER_SIZE);
        int maxHeaders = f.optional("max_headers").flatMap(n -> values.integer(n, f.path("max_headers"), 1, Integer.MAX_VALUE))
                .orElse(ListenerConfig.DEFAULT_MAX_HEADERS);
        List<String> trustedProxies = f.optional("trusted_proxies").map(n -> cidrs(n, f.path("trusted_proxies")))
                .orElse(List.of());
        OptionalInt maxConnections = f.optional("max_connections")
                .flatMap(n -> maxConnections(n, f.path("max_connections"))).orElse(OptionalInt.empty());
        Duration underPressure = idleTimeoutUnderPressure(f, idleTimeout);
        OptionalLong maxBody = f.optional("max_body").flatMap(n -> size(n, f.path("max_body")))
                .map(OptionalLong::of).orElse(OptionalLong.empty());
        Optional<TlsConfig> tlsConfig = f.optional("tls").flatMap(n -> tls.bind(n, f.path("tls")));
        Duration webSocketIdleTimeout = f.optional("websocket_idle_timeout")
                .flatMap(n -> values.duration(n, f.path("websocket_idle_timeout")))
                .orElse(ListenerConfig.DEFAULT_WEBSOCKET_IDLE_TIMEOUT);
        OptionalInt redirectHttps = f.optional("redirect_https")
                .map(n -> redirectHttps(n, f.path("redirect_https"), tlsConfig.isPresent())).orElse(OptionalInt.empty());

        Http2Config http2 = f.optional("http2").flatMap(n -> http2(n, f.path("http2"), tlsConfig.isPresent()))
                .orElse(Http2Config.DEFAULT);

        boolean duplicateAddress = address.isPresent() && !isFirstUse(address.get(), addressNode.get());
        String effectiveName = name.or(() -> address.map(HostPort::toString)).orElse("");
        // Two unnamed listeners on one address are one mistake, already reported as the address.
        if (!effectiveName.isEmpty() && !(duplicateAddress && name.isEmpty())) {
            YamlNode nameNode = f.optional("name").or(() -> addressNode).orElseThrow();
            checkUniqueName(effectiveName, nameNode.at(), name.isEmpty());
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new ListenerConfig(effectiveName, address.get(), idleTimeout, headerTimeout,
                maxRequestLine, maxHeaderSize, maxHeaders, trustedProxies, bodyTimeout, maxConnections, underPressure,
                maxBody, tlsConfig, redirectHttps, webSocketIdleTimeout, http2));
    }

    /**
     * {@code true} / {@code false}, or a map of limits (HTTP/2 on, unless {@code enabled: false}).
     * {@code h2c} only on a cleartext listener: a TLS one negotiates {@code h2} by ALPN.
     */
    private Optional<Http2Config> http2(YamlNode node, String path, boolean tls) {
        if (!(node instanceof YamlNode.Mapping)) {
            return values.bool(node, path).map(on -> on ? Http2Config.DEFAULT : Http2Config.OFF);
        }
        int before = values.problems().count();
        Fields f = Fields.of((YamlNode.Mapping) node, path, HTTP2_KEYS, values.problems());
        boolean enabled = f.optional("enabled").flatMap(n -> values.bool(n, f.path("enabled"))).orElse(true);
        boolean h2c = f.optional("h2c").flatMap(n -> values.bool(n, f.path("h2c"))).orElse(false);
        if (h2c && tls) {
            values.invalid(f.optional("h2c").get(), f.path("h2c"), "h2c is HTTP/2 without TLS; a TLS listener "
                    + "offers h2 by ALPN already, so leave h2c to a cleartext listener");
        }
        int streams = f.optional("max_concurrent_streams")
                .flatMap(n -> values.integer(n, f.path("max_concurrent_streams"), 1, Integer.MAX_VALUE))
                .orElse(Http2Config.DEFAULT_MAX_CONCURRENT_STREAMS);
        int headerList = f.optional("max_header_list_size").flatMap(n -> size(n, f.path("max_header_list_size")))
                .orElse(Http2Config.DEFAULT_MAX_HEADER_LIST_SIZE);
        int table = f.optional("header_table_size")
                .flatMap(n -> values.integer(n, f.path("header_table_size"), 0, 1 << 20))
                .orElse(Http2Config.DEFAULT_HEADER_TABLE_SIZE);
        int continuations = f.optional("max_small_continuation_frames")
                .flatMap(n -> values.integer(n, f.path("max_small_continuation_frames"), 1, 10_000))
                .orElse(Http2Config.DEFAULT_MAX_SMALL_CONTINUATION_FRAMES);
        int resets = f.optional("max_resets").flatMap(n -> values.integer(n, f.path("max_resets"), 1, Integer.MAX_VALUE))
                .orElse(Http2Config.DEFAULT_MAX_RESETS);
        Optional<YamlNode> windowNode = f.optional("reset_window");
        Duration window = windowNode.flatMap(n -> values.duration(n, f.path("reset_window")))
                .orElse(Http2Config.DEFAULT_RESET_WINDOW);
        if (windowNode.isPresent() && window.toSeconds() < 1) {
            values.invalid(windowNode.get(), f.path("reset_window"), Durations.format(window)
                    + " is below 1s; resets are counted over whole seconds");
        }
        if (values.problems().count() > before) {
            return Optional.empty();
        }
        return Optional.of(new Http2Config(enabled, h2c, streams, headerList, table, continuations, resets, window));
    }

    /**
     * {@code true} (to 443, the port left out of the URL), {@code false}, or the HTTPS port. Not on
     * a TLS listener: it would send its clients to itself.
     */
    private OptionalInt redirectHttps(YamlNode node, String path, boolean tls) {
        Optional<Integer> port = node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Kind.INTEGER
                ? values.integer(node, path, 1, 65535)
                : values.bool(node, path).map(on -> on ? ListenerConfig.HTTPS_PORT : 0);
        if (port.isPresent() && port.get() > 0 && tls) {
            values.invalid(node, path, "a TLS listener cannot redirect to HTTPS: it would send its clients to itself; "
                    + "give redirect_https to the cleartext listener (port 80)");
            return OptionalInt.empty();
        }
        return port.filter(p -> p > 0).map(OptionalInt::of).orElse(OptionalInt.empty());
    }

    /** {@code auto} (the default: a share of the open-files limit, see ListenerConfig) or a whole number ≥ 1. */
    private Optional<OptionalInt> maxConnections(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Kind.INTEGER) {
            return values.integer(node, path, 1, Integer.MAX_VALUE).map(OptionalInt::of);
        }
        Optional<String> text = values.text(node, path, MAX_CONNECTIONS_VALUES);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        if (text.get().equals(AUTO)) {
            return Optional.of(OptionalInt.empty());
        }
        values.invalid(node, path, "expected " + MAX_CONNECTIONS_VALUES + ", got " + node.describe()
                + Suggestions.didYouMean(text.get(), List.of(AUTO)));
        return Optional.empty();
    }

    /** Never above the idle timeout: pressure only shrinks it. Unwritten, 5 s or the idle timeout if shorter. */
    private Duration idleTimeoutUnderPressure(Fields f, Duration idleTimeout) {
        Optional<YamlNode> node = f.optional("idle_timeout_under_pressure");
        Optional<Duration> written = node.flatMap(n -> values.duration(n, f.path("idle_timeout_under_pressure")));
        if (written.isPresent() && written.get().compareTo(idleTimeout) > 0) {
            values.invalid(node.get(), f.path("idle_timeout_under_pressure"), Durations.format(written.get())
                    + " is above idle_timeout (" + Durations.format(idleTimeout) + "); under pressure the idle "
                    + "timeout only shrinks, so write at most " + Durations.format(idleTimeout));
        }
        return written.filter(d -> d.compareTo(idleTimeout) <= 0)
                .orElse(ListenerConfig.defaultIdleTimeoutUnderPressure(idleTimeout));
    }

    /** False when {@code address} was already taken (and reported). Port 0 never clashes: each bind gets its own port. */
    private boolean isFirstUse(HostPort address, YamlNode node) {
        if (address.port() == 0) {
            return true;
        }
        Optional<HostPort> clashing = clashingWith(address);
        Optional<Position> first = addresses.claim(address, node.at());
        first.ifPresent(at -> values.problems().add(node.at(),
                "duplicate listener address '" + address + "' (first defined at " + at + ")"));
        if (first.isEmpty() && clashing.isPresent()) {
            values.problems().add(node.at(), "listener address '" + address + "' clashes with '" + clashing.get()
                    + "' (defined at " + at(clashing.get()) + "): " + whyClash(address, clashing.get()));
            return false;
        }
        return first.isEmpty();
    }

    private void checkUniqueName(String name, Position at, boolean defaulted) {
        names.claim(name, at).ifPresent(first -> values.problems().add(at,
                "duplicate listener name '" + name + "' (first defined at " + first + ")"
                        + (defaulted ? "; give each listener its own 'name'" : "")));
    }

    private Optional<Integer> size(YamlNode node, String path) {
        if (node instanceof YamlNode.Scalar s && s.kind() == YamlNode.Kind.INTEGER) {
            return values.integer(node, path, 1, Integer.MAX_VALUE);
        }
        return values.parsed(node, path, "a size like 65536 or 64KiB", Sizes::parse);
    }

    private List<String> cidrs(YamlNode node, String path) {
        List<String> cidrs = new ArrayList<>();
        values.list(node, path).ifPresent(list -> {
            for (int i = 0; i < list.items().size(); i++) {
                values.parsed(list.items().get(i), Paths.item(path, i), "a CIDR like 10.0.0.0/8", Cidrs::parse)
                        .ifPresent(cidrs::add);
            }
        });
        return cidrs;
    }
}
