package dev.sluice.route;

import dev.sluice.config.HeaderRulesConfig;
import dev.sluice.config.TemplateConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.Map;

/** A route's edits of a header, compiled: remove, then set, then add (see {@link HeaderRulesConfig}). */
public final class HeaderRules {
    public static final HeaderRules NONE = new HeaderRules(HeaderRulesConfig.NONE);

    private final AsciiString[] remove;
    private final AsciiString[] setNames;
    private final ValueTemplate[] setValues;
    private final AsciiString[] addNames;
    private final ValueTemplate[] addValues;

    HeaderRules(HeaderRulesConfig config) {
        remove = config.remove().stream().map(AsciiString::cached).toArray(AsciiString[]::new);
        setNames = names(config.set());
        setValues = templates(config.set());
        addNames = names(config.add());
        addValues = templates(config.add());
    }

    private static AsciiString[] names(Map<String, TemplateConfig> fields) {
        return fields.keySet().stream().map(AsciiString::cached).toArray(AsciiString[]::new);
    }

    private static ValueTemplate[] templates(Map<String, TemplateConfig> fields) {
        return fields.values().stream().map(ValueTemplate::new).toArray(ValueTemplate[]::new);
    }

    /** No rule: the header goes as Sluice's own policy leaves it (and a request may keep its bytes). */
    public boolean isEmpty() {
        return remove.length == 0 && setNames.length == 0 && addNames.length == 0;
    }

    public void apply(HttpHeaders headers, Variables values) {
        for (AsciiString name : remove) {
            headers.remove(name);
        }
        for (int i = 0; i < setNames.length; i++) {
            headers.set(setNames[i], setValues[i].fill(values));
        }
        for (int i = 0; i < addNames.length; i++) {
            headers.add(addNames[i], addValues[i].fill(values));
        }
    }
}
