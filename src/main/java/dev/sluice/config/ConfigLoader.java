package dev.sluice.config;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Turns a YAML config file into a validated {@link SluiceConfig}, or a {@link ConfigException}
 * listing every problem in it at its line and column.
 *
 * <p>Two steps: {@link YamlReader} builds a tree of located nodes, then {@link ConfigBinder}
 * binds it by hand to the records, section by section. Nothing partial escapes: a config is
 * returned only if no problem at all was found.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** Loads {@code file} (UTF-8); problems name the file as given, e.g. {@code sluice.yaml:3:14: ...}. */
    public static SluiceConfig load(Path file) throws ConfigException {
        return parse(read(file), file.toString());
    }

    /** Parses config text; {@code sourceName} is what problems are reported against. */
    public static SluiceConfig parse(String yamlText, String sourceName) throws ConfigException {
        return parseWithWarnings(yamlText, sourceName).config();
    }

    /** As {@link #load}, keeping the warnings (legal settings known to cause failed requests). */
    public static CheckedConfig loadWithWarnings(Path file) throws ConfigException {
        return parseWithWarnings(read(file), file.toString());
    }

    /** As {@link #parse}, keeping the warnings (legal settings known to cause failed requests). */
    public static CheckedConfig parseWithWarnings(String yamlText, String sourceName) throws ConfigException {
        Problems problems = new Problems(sourceName);
        Optional<SluiceConfig> config = YamlReader.read(yamlText, problems)
                .flatMap(root -> new ConfigBinder(problems, sourceName).bind(root));
        if (config.isEmpty() || problems.count() > 0) {
            throw new ConfigException(problems.inFileOrder());
        }
        return new CheckedConfig(config.get(), problems.warningsInFileOrder());
    }

    /** The text of {@code file}, or a problem at 1:1 saying why it cannot be read. */
    public static String read(Path file) throws ConfigException {
        String source = file.toString();
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw unreadable(source, "file not found");
        } catch (AccessDeniedException e) {
            throw unreadable(source, "permission denied");
        } catch (MalformedInputException e) {
            throw unreadable(source, "file is not valid UTF-8");
        } catch (IOException e) {
            throw unreadable(source, "cannot read file: " + e.getMessage());
        }
    }

    /** A duration as the config writes it ({@code 250ms}, {@code 60s}), for command-line options. */
    public static java.time.Duration parseDuration(String text) {
        return switch (Durations.parse(text)) {
            case Parsed.Ok<java.time.Duration> ok -> ok.value();
            case Parsed.Invalid<java.time.Duration> bad -> throw new IllegalArgumentException(bad.reason());
        };
    }

    /** Line 1, column 1, so the output keeps the FILE:LINE:COL shape that tools parse. */
    private static ConfigException unreadable(String source, String message) {
        return new ConfigException(List.of(new ConfigProblem(source, 1, 1, message)));
    }
}
