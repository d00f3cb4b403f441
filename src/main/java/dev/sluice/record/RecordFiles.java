package dev.sluice.record;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The files of one recording directory: lines go to the current file,
 * {@code sluice-record-YYYYMMDD-HHMMSS-N.jsonl} (UTC, when it was begun; N tells apart files begun
 * in the same second), until it holds {@code rotateSize} bytes; then a new one is begun and only the
 * newest {@code keep} files stay. Used by the recorder's thread only.
 */
final class RecordFiles implements AutoCloseable {
    static final Pattern NAME = Pattern.compile("sluice-record-(\\d{8}-\\d{6})-(\\d+)\\.jsonl");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    /** Lines are gathered and written 64 KiB at a time, and whatever is gathered when the queue runs dry. */
    private static final int BUFFER = 64 * 1024;

    private final Path directory;
    private long rotateSize;
    private int keep;
    private OutputStream out;
    private Path current;
    private long size;
    private int sequence;

    RecordFiles(Path directory, long rotateSize, int keep) {
        this.directory = directory;
        this.rotateSize = rotateSize;
        this.keep = keep;
    }

    /** The rotation a reload asks for: from the next line on (the directory's last route to write says). */
    void rotation(long rotateSize, int keep) {
        this.rotateSize = rotateSize;
        this.keep = keep;
    }

    /** Appends one line, beginning a file first when there is none or the current one is full. */
    void write(byte[] line, Instant now) throws IOException {
        if (out == null || size >= rotateSize) {
            begin(now);
        }
        out.write(line);
        size += line.length;
    }

    void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    Path current() {
        return current;
    }

    private void begin(Instant now) throws IOException {
        close();
        Files.createDirectories(directory);
        String stamp = STAMP.format(now);
        Path file;
        do {
            file = directory.resolve("sluice-record-" + stamp + "-" + (++sequence) + ".jsonl");
        } while (Files.exists(file));
        out = new java.io.BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), BUFFER);
        current = file;
        size = 0;
        removeOld();
    }

    /** Deletes all but the newest {@code keep} recording files of the directory (the current one among them). */
    private void removeOld() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(directory, "sluice-record-*.jsonl")) {
            for (Path p : all) {
                if (NAME.matcher(p.getFileName().toString()).matches()) {
                    files.add(p);
                }
            }
        }
        files.sort(OLDEST_FIRST);
        for (int i = 0; i < files.size() - keep; i++) {
            Files.deleteIfExists(files.get(i));
        }
    }

    /** By the time in the name, then N as a number (so -10 comes after -9). */
    static final Comparator<Path> OLDEST_FIRST = Comparator
            .comparing((Path p) -> part(p, 1))
            .thenComparingLong(p -> Long.parseLong(part(p, 2)));

    private static String part(Path p, int group) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? m.group(group) : "";
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            OutputStream closing = out;
            out = null;
            closing.close();
        }
    }
}
