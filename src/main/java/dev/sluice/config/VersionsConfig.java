package dev.sluice.config;

/**
 * What Sluice does with the config versions it keeps ({@code versions:}).
 *
 * @param autoRollback a version judged bad at the end of its bake period is rolled back to the last
 *     known good at once, without an operator
 */
public record VersionsConfig(boolean autoRollback) {
    /**
     * Off: the judgement compares a version's gateway error ratio with the one before it, so an
     * endpoint that dies during a version's bake condemns that version as surely as a broken
     * route does; rolled back on its own, a deploy would be undone in the middle of an unrelated
     * outage, behind the back of whoever is working on it, and the config file would no longer
     * say what runs. Where configs come from a pipeline that watches nothing else, turn it on.
     */
    public static final VersionsConfig DEFAULT = new VersionsConfig(false);
}
