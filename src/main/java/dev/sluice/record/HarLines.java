package dev.sluice.record;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The recording format (docs/recording.md): JSON Lines, each line one HAR 1.2 {@code entry}
 * with Sluice's own fields ({@code _route}, {@code _responseBodySha256}, ...), encoded by
 * {@link HarEntryEncoder}, and the export that wraps lines into a HAR 1.2 document
 * ({@code bin/sluice record export}). The {@code replay} command reads the same lines: a change
 * of either is a change of that contract.
 */
public final class HarLines {
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private HarLines() {
    }

    /** The URL's query parameters, decoded as a form's (HAR's {@code queryString}); a malformed one as written. */
    static List<Map.Entry<String, String>> query(String url) {
        int q = url.indexOf('?');
        if (q < 0) {
            return List.of();
        }
        int hash = url.indexOf('#', q);
        String query = url.substring(q + 1, hash < 0 ? url.length() : hash);
        List<Map.Entry<String, String>> params = new java.util.ArrayList<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.add(Map.entry(decode(name), decode(value)));
        }
        return params;
    }

    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return text;
        }
    }

    /**
     * Writes the entries of {@code files} (in order, each line one entry) as one HAR 1.2 document to
     * {@code out}, streaming: one entry in memory at a time. A line that is not a JSON object (a
     * file cut by a crash mid-line) is skipped and counted in the returned number.
     */
    public static int export(List<Path> files, Writer out, String creatorVersion) throws IOException {
        int skipped = 0;
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setCodec(MAPPER);
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeObjectFieldStart("log");
            g.writeStringField("version", "1.2");
            g.writeObjectFieldStart("creator");
            g.writeStringField("name", "sluice");
            g.writeStringField("version", creatorVersion);
            g.writeEndObject();
            g.writeArrayFieldStart("entries");
            for (Path file : files) {
                try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        if (line.isBlank()) {
                            continue;
                        }
                        JsonNode entry;
                        try {
                            entry = MAPPER.readTree(line);
                        } catch (IOException notJson) {
                            skipped++;
                            continue;
                        }
                        if (entry instanceof ObjectNode) {
                            g.writeTree(entry);
                        } else {
                            skipped++;
                        }
                    }
                }
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        return skipped;
    }

    /** The {@code Host} and target as an absolute URL: {@code target} itself when it is one already. */
    public static String absoluteUrl(boolean secure, String host, String target) {
        if (target.startsWith("http://") || target.startsWith("https://")) {
            return target;
        }
        String authority = host == null || host.isEmpty() ? "localhost" : host;
        return (secure ? "https://" : "http://") + authority + (target.startsWith("/") ? target : "/" + target);
    }
}
