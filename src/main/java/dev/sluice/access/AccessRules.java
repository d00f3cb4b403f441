package dev.sluice.access;

import dev.sluice.config.AccessConfig;

/**
 * A route's access control compiled once, with the route: its address rules, its CORS policy
 * and its basic authentication. Each part is a null object when the route has none.
 */
public final class AccessRules {
    public static final AccessRules OPEN = new AccessRules(AddressRules.NONE, Cors.NONE, BasicAuth.NONE);

    private final AddressRules addresses;
    private final Cors cors;
    private final BasicAuth basicAuth;

    private AccessRules(AddressRules addresses, Cors cors, BasicAuth basicAuth) {
        this.addresses = addresses;
        this.cors = cors;
        this.basicAuth = basicAuth;
    }

    /**
     * @param previous the same route's rules before a reload, or null: its basic authentication,
     *     and the credentials it remembers, is kept when the users file and settings are unchanged
     */
    public static AccessRules of(AccessConfig config, AccessRules previous) {
        if (config.isOpen()) {
            return OPEN;
        }
        BasicAuth basicAuth = config.basicAuth()
                .map(c -> previous != null && c.equals(previous.basicAuth.config()) ? previous.basicAuth : new BasicAuth(c))
                .orElse(BasicAuth.NONE);
        return new AccessRules(AddressRules.of(config.allowIps(), config.denyIps()),
                config.cors().map(Cors::new).orElse(Cors.NONE), basicAuth);
    }

    public boolean isOpen() {
        return this == OPEN;
    }

    public AddressRules addresses() {
        return addresses;
    }

    public Cors cors() {
        return cors;
    }

    public BasicAuth basicAuth() {
        return basicAuth;
    }
}
