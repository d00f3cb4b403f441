package dev.sluice.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.sluice.config.YamlNode.Entry;
import dev.sluice.config.YamlNode.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads YAML text into a {@link YamlNode} tree with Jackson's streaming parser, keeping each
 * node's line and column. Reports syntax errors, duplicate keys, empty input and extra
 * documents; everything about meaning is left to the binders.
 */
final class YamlReader {
    private static final YAMLFactory FACTORY = YAMLFactory.builder().build();
    /**
     * An unquoted {@code [::1]:8080} (YAML reads the brackets as a list) or, inside {@code [...]},
     * {@code ::1/128} (a leading ':' is an indicator there). Both are syntax errors.
     */
    private static final Pattern BARE_IPV6 =
            Pattern.compile("(^|[\\s,{\\[])(\\[?::|\\[[0-9A-Fa-f:.%]*:[0-9A-Fa-f:.%]*]:\\d)");

    private final String text;
    private final Problems problems;

    private YamlReader(String text, Problems problems) {
        this.text = text;
        this.problems = problems;
    }

    /** The root node, or empty when there is nothing to bind (the reason is in {@code problems}). */
    static Optional<YamlNode> read(String text, Problems problems) {
        return new YamlReader(text, problems).readDocument();
    }

    private Optional<YamlNode> readDocument() {
        try (YAMLParser parser = FACTORY.createParser(text)) {
            if (parser.nextToken() == null) {
                return empty();
            }
            YamlNode root = readValue(parser, Paths.ROOT);
            if (root instanceof YamlNode.Scalar scalar && scalar.isEmpty()) {
                return empty();
            }
            rejectFurtherDocuments(parser);
            return Optional.of(root);
        } catch (IOException e) {
            syntaxError(e);
            return Optional.empty();
        }
    }

    private Optional<YamlNode> empty() {
        problems.add(Position.START, "the config is empty: it needs at least 'listeners', 'routes' and 'clusters'");
        return Optional.empty();
    }

    /** A second document would silently be ignored by a loader that reads only the first; say so. */
    private void rejectFurtherDocuments(YAMLParser parser) throws IOException {
        for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
            boolean emptyDocument = token == JsonToken.VALUE_NULL
                    || (token == JsonToken.VALUE_STRING && parser.getText().isEmpty());
            if (!emptyDocument) {
                problems.add(position(parser), "only one YAML document is allowed; remove this '---' document or move it to another file");
                return;
            }
        }
    }

    private YamlNode readValue(YAMLParser parser, String path) throws IOException {
        Position at = position(parser);
        JsonToken token = parser.currentToken();
        return switch (token) {
            case START_OBJECT -> readMapping(parser, path, at);
            case START_ARRAY -> readSequence(parser, path, at);
            case VALUE_STRING, VALUE_EMBEDDED_OBJECT ->
                    new YamlNode.Scalar(at, parser.getText(), parser.isCurrentAlias() ? Kind.ALIAS : Kind.STRING);
            case VALUE_NUMBER_INT -> new YamlNode.Scalar(at, parser.getText(), Kind.INTEGER);
            case VALUE_NUMBER_FLOAT -> new YamlNode.Scalar(at, parser.getText(), Kind.DECIMAL);
            case VALUE_TRUE -> new YamlNode.Scalar(at, parser.getText(), Kind.TRUE);
            case VALUE_FALSE -> new YamlNode.Scalar(at, parser.getText(), Kind.FALSE);
            case VALUE_NULL -> new YamlNode.Scalar(at, parser.getText(), Kind.NULL);
            default -> throw new IllegalStateException("unexpected token " + token + " at " + at);
        };
    }

    private YamlNode readMapping(YAMLParser parser, String path, Position at) throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            Position keyAt = position(parser);
            parser.nextToken();
            YamlNode value = readValue(parser, Paths.child(path, key));
            Entry first = entries.putIfAbsent(key, new Entry(keyAt, value));
            if (first != null) {
                problems.add(keyAt, "duplicate key '" + key + "' " + Paths.where(path) + " (first at " + first.keyAt() + ")");
            }
        }
        return new YamlNode.Mapping(at, entries);
    }

    private YamlNode readSequence(YAMLParser parser, String path, Position at) throws IOException {
        List<YamlNode> items = new ArrayList<>();
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            items.add(readValue(parser, Paths.item(path, items.size())));
        }
        return new YamlNode.Sequence(at, items);
    }

    private static Position position(YAMLParser parser) {
        JsonLocation location = parser.currentTokenLocation();
        return new Position(Math.max(1, location.getLineNr()), Math.max(1, location.getColumnNr()));
    }

    /**
     * Jackson wraps SnakeYAML's error, whose problem mark is more precise than Jackson's own
     * location (for a tab, Jackson points one column early), so prefer it.
     */
    private void syntaxError(IOException e) {
        MarkedYAMLException marked = markedCause(e);
        if (marked != null && marked.getProblemMark() != null) {
            Position at = position(marked.getProblemMark());
            Mark context = marked.getContextMark();
            Position started = context == null ? null : position(context);
            Optional<String> indentation = indentation(at, marked.getProblem(), marked.getContext(), started);
            if (indentation.isPresent()) {
                problems.add(at, "bad indentation: " + indentation.get());
                return;
            }
            String message = "invalid YAML: " + marked.getProblem();
            if (marked.getContext() != null && started != null && !started.equals(at)) {
                message += " (" + marked.getContext() + " that started at " + started + ")";
            }
            problems.add(at, message + hint(at, marked.getProblem()));
        } else if (e instanceof JsonProcessingException json && json.getLocation() != null) {
            JsonLocation location = json.getLocation();
            Position at = new Position(Math.max(1, location.getLineNr()), Math.max(1, location.getColumnNr()));
            problems.add(at, "invalid YAML: " + jacksonReason(json.getOriginalMessage()));
        } else {
            problems.add(Position.START, "invalid YAML: " + e.getMessage());
        }
    }

    private static MarkedYAMLException markedCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException marked) {
                return marked;
            }
        }
        return null;
    }

    private static Position position(Mark mark) {
        return new Position(mark.getLine() + 1, mark.getColumn() + 1);
    }

    /**
     * The parser's "expected &lt;block end&gt;" in a person's words: where the line is, where it
     * should be, and which line it was read against. YAML nests by indentation alone, so a key one
     * column off is either a child of nothing (deeper than its neighbours) or a stray in a list
     * (shallower).
     */
    private Optional<String> indentation(Position at, String problem, String context, Position started) {
        if (problem == null || !problem.startsWith("expected <block end>") || started == null) {
            return Optional.empty();
        }
        String line = lineAt(at.line()).strip();
        String what = line.isEmpty() ? "this line" : "'" + (line.length() > 40 ? line.substring(0, 40) + "…" : line) + "'";
        if (context != null && context.contains("block mapping")) {
            return Optional.of(what + " starts at column " + at.column() + ", deeper than the keys of the map that"
                    + " starts at line " + started.line() + " (column " + started.column() + "); a key of that map"
                    + " lines up at column " + started.column() + ", and a value nested deeper needs a key ending"
                    + " in ':' on the line above");
        }
        if (context != null && context.contains("block collection")) {
            return Optional.of(what + " starts at column " + at.column() + ", where the list that starts at line "
                    + started.line() + " has its '- ' items; indent it to line up with the keys of its item, or start"
                    + " a new item with '- '");
        }
        return Optional.of(what + " is not indented as the lines around it (the block that starts at line "
                + started.line() + ", column " + started.column() + ")");
    }

    /** The two mistakes people actually make in this file, named in their words rather than the parser's. */
    private String hint(Position at, String problem) {
        String line = lineAt(at.line());
        if (BARE_IPV6.matcher(line).find()) {
            return "; quote IPv6 addresses, e.g. \"[::1]:8080\" or \"::1/128\"";
        }
        if (problem != null && problem.contains("expected <block end>")) {
            return "; check the indentation of this line";
        }
        return "";
    }

    private String lineAt(int line) {
        String[] lines = text.split("\n", -1);
        return line - 1 < lines.length ? lines[line - 1] : "";
    }

    /** Jackson refuses complex keys ({@code ? [a, b]: c}) with a message naming SnakeYAML's event classes. */
    private static String jacksonReason(String message) {
        if (message != null && message.startsWith("Expected a field name")) {
            return "map keys must be plain strings";
        }
        return message;
    }
}
