package dev.sluice.config;

import dev.sluice.config.KubernetesConfig.Port;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** Binds {@code clusters[].kubernetes}: {@code { service, namespace, port, kubeconfig, shared }}. */
final class KubernetesBinder {
    private static final List<String> KEYS = List.of("service", "namespace", "port", "kubeconfig", "shared");
    /** A Service's name: an RFC 1035 label (Kubernetes' rule for Service names), at most 63 characters. */
    private static final Pattern SERVICE = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
    /** A namespace: an RFC 1123 label, at most 63 characters. */
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** A port's name: an IANA service name as Kubernetes checks it, at most 15 characters, with a letter. */
    private static final Pattern PORT_NAME = Pattern.compile("(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?");

    private final Values values;

    KubernetesBinder(Values values) {
        this.values = values;
    }

    Optional<KubernetesConfig> bind(YamlNode node, String path) {
        Optional<YamlNode.Mapping> map = values.map(node, path);
        if (map.isEmpty()) {
            return Optional.empty();
        }
        int before = values.problems().count();
        Fields f = Fields.of(map.get(), path, KEYS, values.problems());
        Optional<String> service = f.required("service").flatMap(n -> values.parsed(n, f.path("service"),
                "a Service's name", text -> label(text, SERVICE, "a Service's name", 
                        "lower-case letters, digits and '-', starting with a letter")));
        Optional<String> namespace = f.optional("namespace").flatMap(n -> values.parsed(n, f.path("namespace"),
                "a namespace", text -> label(text, NAMESPACE, "a namespace", "lower-case letters, digits and '-'")));
        Optional<Port> port = f.optional("port").flatMap(n -> values.parsed(n, f.path("port"),
                "a port's name or number", KubernetesBinder::port));
        Optional<Path> kubeconfig = f.optional("kubeconfig").flatMap(n -> kubeconfig(n, f.path("kubeconfig")));
        boolean shared = f.optional("shared").flatMap(n -> values.bool(n, f.path("shared"))).orElse(false);
        if (values.problems().count() > before || service.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new KubernetesConfig(service.get(), namespace, port, kubeconfig, shared,
                values.problems().source() + ":" + node.at()));
    }

    private static Parsed<String> label(String text, Pattern syntax, String what, String allowed) {
        if (text.length() > 63) {
            return Parsed.invalid("'" + text + "' is too long for " + what + " (at most 63 characters)");
        }
        return syntax.matcher(text).matches() ? Parsed.ok(text)
                : Parsed.invalid("'" + text + "' is not " + what + ": " + allowed);
    }

    /** A number is the Service's port (as {@code kubectl port-forward svc/NAME 80} takes it), a name the port's name. */
    static Parsed<Port> port(String text) {
        if (!text.isEmpty() && text.chars().allMatch(Character::isDigit)) {
            int number = text.length() > 5 ? -1 : Integer.parseInt(text);
            return number >= 1 && number <= 65535 ? Parsed.ok(new Port.Numbered(number))
                    : Parsed.invalid("port " + text + " is out of range 1-65535");
        }
        return PORT_NAME.matcher(text).matches() ? Parsed.ok(new Port.Named(text))
                : Parsed.invalid("'" + text + "' is neither a port number nor a port's name (at most 15 lower-case "
                        + "letters, digits and '-', as the Service's ports[].name)");
    }

    /** An absolute path to a readable file, as {@code admin.token_file}: a relative one would depend on where Sluice was started. */
    private Optional<Path> kubeconfig(YamlNode node, String path) {
        return values.text(node, path, "a file path").flatMap(name -> {
            Path file = Path.of(name);
            if (!file.isAbsolute()) {
                values.invalid(node, path, "'" + name + "' must be an absolute path");
                return Optional.empty();
            }
            if (!Files.isReadable(file)) {
                values.invalid(node, path, "cannot read '" + name + "'; leave 'kubeconfig' out to use KUBECONFIG, "
                        + "~/.kube/config or the pod's service account");
                return Optional.empty();
            }
            return Optional.of(file);
        });
    }
}
