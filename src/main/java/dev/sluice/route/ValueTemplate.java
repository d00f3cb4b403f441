package dev.sluice.route;

import dev.sluice.config.TemplateConfig;

/** A {@link TemplateConfig} ready to fill: literal texts kept as they are, variables asked of the request. */
public final class ValueTemplate {
    /** Literal texts, and where {@link #variable} is set, variable names. */
    private final String[] parts;
    private final boolean[] variable;
    /** The whole text when there is no variable: nothing to fill per request. */
    private final String constant;

    ValueTemplate(TemplateConfig template) {
        int n = template.parts().size();
        parts = new String[n];
        variable = new boolean[n];
        for (int i = 0; i < n; i++) {
            switch (template.parts().get(i)) {
                case TemplateConfig.Literal literal -> parts[i] = literal.text();
                case TemplateConfig.Variable v -> {
                    parts[i] = v.name();
                    variable[i] = true;
                }
            }
        }
        boolean anyVariable = false;
        for (boolean v : variable) {
            anyVariable |= v;
        }
        constant = anyVariable ? null : String.join("", parts);
    }

    public String fill(Variables values) {
        if (constant != null) {
            return constant;
        }
        StringBuilder text = new StringBuilder(64);
        for (int i = 0; i < parts.length; i++) {
            text.append(variable[i] ? values.value(parts[i]) : parts[i]);
        }
        return text.toString();
    }
}
