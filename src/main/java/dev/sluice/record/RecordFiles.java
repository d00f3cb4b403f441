package dev.sluice.record;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
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
 * newest {@code keep} files stay. Whole lines are {@link #append}ed to the file's buffer, which
 * goes to the disk when it is full and when the recorder {@link #flush}es. Used by the recorder's
 * thread only.
 */
final class RecordFiles implements AutoCloseable {
    static final Pattern NAME = Pattern.compile("sluice-record-(\\d{8}-\\d{6})-(\\d+)\\.jsonl");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    /** Lines are gathered and written 64 KiB at a time, and whatever is gathered when the recorder flushes. */
    private static final int BUFFER = 64 * 1024;

    private final Path directory;
    private final Clock clock;
    private long rotateSize;
    private int keep;
    private Counted out;
    private Path current;
    private int sequence;

    RecordFiles(Path directory, Clock clock, long rotateSize, int keep) {
        this.directory = directory;
        this.clock = clock;
        this.rotateSize = rotateSize;
        this.keep = keep;
    }

    /** The rotation a reload asks for: from the next line on (the directory's last route to write says). */
    void rotation(long rotateSize, int keep) {
        this.rotateSize = rotateSize;
        this.keep = keep;
    }

    /**
     * Hands the line {@code bytes[0, length)} (its newline included) to the file's buffer, counted
     * for the rotation; a file is begun first when there is none or the current one is full.
     */
    void append(byte[] bytes, int length) throws IOException {
        if (out == null || out.count >= rotateSize) {
            begin();
        }
        out.write(bytes, 0, length);
    }

    /**
     * After a line failed (the disk, or the encoding): the file is closed as it is, its last line
     * ended where it was cut (readers skip it), and the next line begins a new file rather than
     * follow a broken one.
     */
    void abandon() {
        if (out != null) {
            try {
                out.write('\n');
                close();
            } catch (IOException ignored) {
                // the file is given up either way; the failure was counted and logged with its line
            } finally {
                out = null;
            }
        }
    }

    /** Writes what the buffer holds to the disk. */
    void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    Path current() {
        return current;
    }

    private void begin() throws IOException {
        close();
        Files.createDirectories(directory);
        String stamp = STAMP.format(clock.instant());
        Path file;
        do {
            file = directory.resolve("sluice-record-" + stamp + "-" + (++sequence) + ".jsonl");
        } while (Files.exists(file));
        out = new Counted(new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), BUFFER));
        current = file;
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
            Counted closing = out;
            out = null;
            closing.close();
        }
    }

    /** The bytes handed to the file so far: its size once flushed. */
    private static final class Counted extends FilterOutputStream {
        long count;

        Counted(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
