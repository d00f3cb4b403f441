package dev.sluice.config;

import java.util.List;

/**
 * {@code routes[].basic_auth}: HTTP basic authentication (RFC 7617) against a users file read
 * when the config is loaded (and again on each reload).
 *
 * @param realm shown by the client's login prompt; in the {@code WWW-Authenticate} challenge
 * @param usersFile the file's absolute path, as written
 * @param users its lines in file order, names unique
 * @param passAuthorization whether the client's {@code Authorization} goes on to the backend
 */
public record BasicAuthConfig(String realm, String usersFile, List<User> users, boolean passAuthorization) {

    public BasicAuthConfig {
        users = List.copyOf(users);
    }

    /** One line of the users file: {@code name:hash}. */
    public record User(String name, PasswordHashConfig hash) {}

    /** As Caddy's {@code basic_auth}: a realm says little, and a prompt needs one. */
    public static final String DEFAULT_REALM = "restricted";

    /**
     * Off: the password was for the gateway; forwarded, it reaches every backend, its logs and
     * its error pages. A backend that checks the same credentials itself needs it on.
     */
    public static final boolean DEFAULT_PASS_AUTHORIZATION = false;
}
