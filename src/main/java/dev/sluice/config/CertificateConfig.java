package dev.sluice.config;

import dev.sluice.tls.CertifiedKey;
import java.nio.file.Path;

/**
 * One certificate of a TLS listener: its files, where the config names them (for the messages
 * of a renewal that cannot be used), and what was read from them when the config was loaded.
 *
 * @param location {@code file:line:col} of the {@code cert:} key
 */
public record CertificateConfig(Path cert, Path key, String location, CertifiedKey loaded) {}
