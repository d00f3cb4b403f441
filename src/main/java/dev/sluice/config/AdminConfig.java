package dev.sluice.config;

/** The admin listener ({@code admin:}); serves /live, /ready, /status on its own port. */
public record AdminConfig(HostPort address) {}
