package dev.sluice.route;

/**
 * The values of one request that a route's templates may use ({@code ${client}}, {@code
 * ${request_id}}, …; the names are {@link dev.sluice.config.TemplateConfig}'s). Asked only when a
 * template uses the variable.
 */
public interface Variables {
    /** The value of the variable {@code name}, one the config allowed where the template is written. */
    String value(String name);
}
