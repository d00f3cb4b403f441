package dev.sluice.replay;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.http.FieldSyntax;
import java.io.BufferedReader;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Reads recordings: JSON Lines of HAR 1.2 entries (what {@code routes[].record} writes, one entry a
 * line), or a whole HAR 1.2 file ({@code {"log":{"entries":[...]}}}, from browser tools or
 * {@code sluice record export}). Which one a file is, its first line tells: a JSON object on its
 * own without {@code log} starts JSON Lines; anything else is read as one HAR document.
 *
 * <p>Every file is read and checked before anything is sent, so a recording with a bad line is
 * refused whole ({@code FILE:LINE: message}) rather than half replayed.
 */
final class Recording {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");
    /** A path segment that names one thing (a number, a UUID, a long hex id): grouped as {@code {id}}. */
    private static final Pattern ID_SEGMENT = Pattern.compile(
            "\\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}");

    private Recording() {}

    /**
     * The entries of all the files, in the order they started (a file's own order for equal times).
     * What is skipped (a cut last line) is told to {@code warn} as {@code FILE:LINE: message}.
     */
    static List<RecordedExchange> read(List<Path> files, Consumer<String> warn) throws RecordingException {
        List<RecordedExchange> all = new ArrayList<>();
        for (Path file : files) {
            all.addAll(read(file, warn));
        }
        // List.sort is stable: entries started at the same instant keep their file and line order.
        all.sort(Comparator.comparing(RecordedExchange::started));
        return all;
    }

    static List<RecordedExchange> read(Path file, Consumer<String> warn) throws RecordingException {
        if (!Files.isRegularFile(file)) {
            throw new RecordingException(file + ": no such file");
        }
        try {
            return isJsonLines(file) ? readJsonLines(file, warn) : readHar(file);
        } catch (IOException e) {
            throw new RecordingException(file + ": cannot be read: " + e.getMessage());
        }
    }

    private static boolean isJsonLines(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.isBlank()) {
                    try {
                        JsonNode first = JSON.readTree(line);
                        return first.isObject() && !first.has("log");
                    } catch (JsonProcessingException notAWholeValue) {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    /**
     * Lines, each a whole entry. The one exception: a last line without its newline that is not
     * whole JSON is what a crash, or a file still being written, leaves (the recorder writes a
     * line at once and begins a new file after a restart), so it is skipped with a warning.
     */
    private static List<RecordedExchange> readJsonLines(Path file, Consumer<String> warn)
            throws IOException, RecordingException {
        List<RecordedExchange> entries = new ArrayList<>();
        boolean endsWithNewline = endsWithNewline(file);
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line = in.readLine();
            int number = 0;
            while (line != null) {
                number++;
                String next = in.readLine();
                if (!line.isBlank()) {
                    String where = file + ":" + number;
                    JsonNode entry;
                    try {
                        entry = JSON.readTree(line);
                    } catch (JsonProcessingException e) {
                        if (next == null && !endsWithNewline) {
                            warn.accept(where + ": warning: the last line is cut short (a file still being "
                                    + "written, or one a crash ended); skipped");
                            break;
                        }
                        throw new RecordingException(where + ": not JSON: " + e.getOriginalMessage());
                    }
                    entries.add(entry(entry, where));
                }
                line = next;
            }
        }
        return entries;
    }

    private static boolean endsWithNewline(Path file) throws IOException {
        try (SeekableByteChannel channel = Files.newByteChannel(file)) {
            if (channel.size() == 0) {
                return true;
            }
            ByteBuffer last = ByteBuffer.allocate(1);
            channel.position(channel.size() - 1).read(last);
            return last.get(0) == '\n';
        }
    }

    /** A HAR document, walked as a stream so that each entry is located by the line it starts on. */
    private static List<RecordedExchange> readHar(Path file) throws IOException, RecordingException {
        List<RecordedExchange> entries = new ArrayList<>();
        boolean sawEntries = false;
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            expect(parser, JsonToken.START_OBJECT, file, "a HAR file ({\"log\":{\"entries\":[...]}}) or JSON Lines of HAR entries");
            while (next(parser, file) == JsonToken.FIELD_NAME) {
                if (!parser.currentName().equals("log")) {
                    next(parser, file);
                    parser.skipChildren();
                    continue;
                }
                expect(parser, JsonToken.START_OBJECT, file, "\"log\" to be an object");
                while (next(parser, file) == JsonToken.FIELD_NAME) {
                    if (!parser.currentName().equals("entries")) {
                        next(parser, file);
                        parser.skipChildren();
                        continue;
                    }
                    expect(parser, JsonToken.START_ARRAY, file, "\"entries\" to be an array");
                    sawEntries = true;
                    while (next(parser, file) != JsonToken.END_ARRAY) {
                        String where = file + ":" + parser.currentTokenLocation().getLineNr();
                        JsonNode entry;
                        try {
                            entry = JSON.readTree(parser);
                        } catch (JsonProcessingException e) {
                            throw located(file, e);
                        }
                        entries.add(entry(entry, where));
                    }
                }
            }
        } catch (JsonProcessingException e) {
            throw located(file, e);
        }
        if (!sawEntries) {
            throw new RecordingException(file + ":1: a HAR file needs \"log\": {\"entries\": [...]}");
        }
        return entries;
    }

    private static JsonToken next(JsonParser parser, Path file) throws IOException, RecordingException {
        JsonToken token = parser.nextToken();
        if (token == null) {
            throw new RecordingException(file + ":" + parser.currentLocation().getLineNr() + ": the file ends too early");
        }
        return token;
    }

    private static void expect(JsonParser parser, JsonToken wanted, Path file, String what)
            throws IOException, RecordingException {
        if (next(parser, file) != wanted) {
            throw new RecordingException(file + ":" + parser.currentTokenLocation().getLineNr() + ": expected " + what);
        }
    }

    private static RecordingException located(Path file, JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        return new RecordingException(file + ":" + (at == null ? 1 : at.getLineNr()) + ": not JSON: " + e.getOriginalMessage());
    }

    /** One HAR entry, checked: everything replay sends or compares must be there and well formed. */
    static RecordedExchange entry(JsonNode entry, String where) throws RecordingException {
        if (!entry.isObject()) {
            throw new RecordingException(where + ": an entry must be a JSON object");
        }
        Instant started = started(text(entry, "startedDateTime", where), where);
        JsonNode time = entry.path("time");
        if (!time.isNumber() || time.asDouble() < 0) {
            throw new RecordingException(where + ": \"time\" must be a number of milliseconds, at least 0");
        }
        JsonNode request = object(entry, "request", where);
        String method = text(request, "method", where);
        if (!FieldSyntax.isToken(method)) {
            throw new RecordingException(where + ": request.method '" + method + "' is not an HTTP method");
        }
        URI url = url(text(request, "url", where), where);
        List<RecordedExchange.Header> headers = headers(request, where);
        byte[] body = body(request.path("postData"), where);
        JsonNode response = object(entry, "response", where);
        JsonNode status = response.path("status");
        if (!status.canConvertToInt() || status.asInt() < 0 || status.asInt() > 999) {
            throw new RecordingException(where + ": response.status must be a number from 0 to 999");
        }
        Optional<String> sha = Optional.empty();
        JsonNode hash = entry.path("_responseBodySha256");
        if (!hash.isMissingNode() && !hash.isNull()) {
            if (!hash.isTextual() || !SHA256_HEX.matcher(hash.asText()).matches()) {
                throw new RecordingException(where + ": _responseBodySha256 must be 64 hex digits");
            }
            if (!flag(entry, "_responseBodyTruncated", where)) {
                sha = Optional.of(hash.asText().toLowerCase(Locale.ROOT));
            }
        }
        JsonNode route = entry.path("_route");
        String routeName = route.isTextual() && !route.asText().isBlank()
                ? route.asText()
                : method + " " + pathTemplate(url.getRawPath());
        return new RecordedExchange(where, started, routeName, method, url, headers, body,
                flag(entry, "_requestBodyTruncated", where), status.asInt(), time.asDouble(), sha);
    }

    /** {@code /users/42/orders/9f1c…} → {@code /users/{id}/orders/{id}}: one group per kind of request, not per id. */
    static String pathTemplate(String rawPath) {
        if (rawPath == null || rawPath.isEmpty()) {
            return "/";
        }
        String[] segments = rawPath.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            if (ID_SEGMENT.matcher(segments[i]).matches()) {
                segments[i] = "{id}";
            }
        }
        return String.join("/", segments);
    }

    private static Instant started(String text, String where) throws RecordingException {
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw new RecordingException(where + ": startedDateTime '" + text
                    + "' is not an ISO 8601 date and time with its offset (2026-12-05T02:14:21.123Z)");
        }
    }

    private static URI url(String text, String where) throws RecordingException {
        try {
            URI url = new URI(text);
            String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https")) || url.getRawAuthority() == null) {
                throw new RecordingException(where + ": request.url '" + text + "' must be an absolute http or https URL");
            }
            return url;
        } catch (URISyntaxException e) {
            throw new RecordingException(where + ": request.url is not a URL: " + e.getMessage());
        }
    }

    private static List<RecordedExchange.Header> headers(JsonNode request, String where) throws RecordingException {
        JsonNode headers = request.path("headers");
        if (headers.isMissingNode()) {
            return List.of();
        }
        if (!headers.isArray()) {
            throw new RecordingException(where + ": request.headers must be an array of {name, value}");
        }
        List<RecordedExchange.Header> list = new ArrayList<>(headers.size());
        for (JsonNode header : headers) {
            JsonNode name = header.path("name");
            JsonNode value = header.path("value");
            if (!name.isTextual() || !value.isTextual()) {
                throw new RecordingException(where + ": request.headers must be an array of {name, value}");
            }
            // HTTP/2 pseudo-header fields (":authority", ":path"), as browser tools record them: the
            // request line and Host say the same, and HTTP/1.1 has no such fields.
            if (name.asText().startsWith(":")) {
                continue;
            }
            if (!FieldSyntax.isToken(name.asText())) {
                throw new RecordingException(where + ": request header name '" + name.asText() + "' is not a token");
            }
            if (!value.asText().chars().allMatch(c -> c < 256 && (c == '\t' || FieldSyntax.isFieldContent((byte) c)))) {
                throw new RecordingException(where + ": request header '" + name.asText()
                        + "' has a value with characters a field may not carry (CR, LF, NUL, …)");
            }
            list.add(new RecordedExchange.Header(name.asText(), value.asText()));
        }
        return List.copyOf(list);
    }

    private static byte[] body(JsonNode postData, String where) throws RecordingException {
        if (postData.isMissingNode() || postData.isNull()) {
            return new byte[0];
        }
        JsonNode text = postData.path("text");
        if (!text.isTextual()) {
            throw new RecordingException(where + ": request.postData needs its \"text\"");
        }
        JsonNode encoding = postData.path("encoding");
        if (encoding.isMissingNode() || encoding.isNull()) {
            return text.asText().getBytes(StandardCharsets.UTF_8);
        }
        if (!encoding.asText().equals("base64")) {
            throw new RecordingException(where + ": request.postData.encoding '" + encoding.asText()
                    + "' is unknown (only \"base64\", or none)");
        }
        try {
            return Base64.getDecoder().decode(text.asText());
        } catch (IllegalArgumentException e) {
            throw new RecordingException(where + ": request.postData.text is not base64: " + e.getMessage());
        }
    }

    private static JsonNode object(JsonNode parent, String field, String where) throws RecordingException {
        JsonNode node = parent.path(field);
        if (!node.isObject()) {
            throw new RecordingException(where + ": \"" + field + "\" must be an object");
        }
        return node;
    }

    private static String text(JsonNode parent, String field, String where) throws RecordingException {
        JsonNode node = parent.path(field);
        if (!node.isTextual()) {
            throw new RecordingException(where + ": \"" + field + "\" must be a string");
        }
        return node.asText();
    }

    private static boolean flag(JsonNode parent, String field, String where) throws RecordingException {
        JsonNode node = parent.path(field);
        if (node.isMissingNode() || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw new RecordingException(where + ": \"" + field + "\" must be true or false");
        }
        return node.asBoolean();
    }
}
