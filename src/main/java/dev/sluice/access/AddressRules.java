package dev.sluice.access;

import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * A route's {@code allow_ips} and {@code deny_ips}: a client in a denied block is refused; with
 * allowed blocks, so is a client outside all of them. Deny wins, so "everyone in 10.0.0.0/8 but
 * 10.0.0.13" needs no ordering to get right (Traefik's and Caddy's lists work so; nginx's
 * first-match order is a common source of a rule that never applies).
 */
public final class AddressRules {
    static final AddressRules NONE = new AddressRules(List.of(), List.of());

    private final List<IpSubnetFilterRule> allow;
    private final List<IpSubnetFilterRule> deny;

    private AddressRules(List<IpSubnetFilterRule> allow, List<IpSubnetFilterRule> deny) {
        this.allow = allow;
        this.deny = deny;
    }

    /** @param allow CIDR blocks as config checked them ({@code 10.0.0.0/8}, {@code 2001:db8::/32}) */
    static AddressRules of(List<String> allow, List<String> deny) {
        return allow.isEmpty() && deny.isEmpty() ? NONE
                : new AddressRules(allow.stream().map(AddressRules::rule).toList(),
                        deny.stream().map(AddressRules::rule).toList());
    }

    public boolean isEmpty() {
        return allow.isEmpty() && deny.isEmpty();
    }

    /**
     * Whether {@code client} (an address's text, as the request's client was decided: the peer,
     * or behind a trusted proxy the address its X-Forwarded-For names) may use the route. Text
     * that is not an address is refused: with rules, only a known address gets in.
     */
    public boolean admits(String client) {
        if (isEmpty()) {
            return true;
        }
        InetAddress address = NetUtil.createInetAddressFromIpAddressString(client);
        if (address == null) {
            return false;
        }
        InetSocketAddress socket = new InetSocketAddress(address, 0);
        for (IpSubnetFilterRule rule : deny) {
            if (rule.matches(socket)) {
                return false;
            }
        }
        if (allow.isEmpty()) {
            return true;
        }
        for (IpSubnetFilterRule rule : allow) {
            if (rule.matches(socket)) {
                return true;
            }
        }
        return false;
    }

    private static IpSubnetFilterRule rule(String cidr) {
        int slash = cidr.indexOf('/');
        return new IpSubnetFilterRule(cidr.substring(0, slash), Integer.parseInt(cidr.substring(slash + 1)),
                IpFilterRuleType.ACCEPT);
    }
}
