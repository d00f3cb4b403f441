package dev.sluice.record;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
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
 * newest {@code keep} files stay. Each file has one streaming JSON generator, on which the
 * entries are encoded straight into the file's buffer ({@link #line}, {@link #endLine}); the buffer
 * goes to the disk when it is full and when the recorder {@link #flush}es. Used by the recorder's
 * thread only.
 */
final class RecordFiles implements AutoCloseable {
    static final Pattern NAME = Pattern.compile("sluice-record-(\\d{8}-\\d{6})-(\\d+)\\.jsonl");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    /** Lines are gathered and written 64 KiB at a time, and whatever is gathered when the recorder flushes. */
    private static final int BUFFER = 64 * 1024;
    /**
     * A generator's flush hands its bytes to the file's buffer, no further (the recorder decides
     * when the disk is written); closing it neither closes open objects (a line cut by a failed
     * write stays cut, and readers skip it) nor adds a separator between entries (each line ends
     * with its own newline).
     */
    private static final JsonFactory JSON = new JsonFactoryBuilder()
            .disable(StreamWriteFeature.FLUSH_PASSED_TO_STREAM)
            .disable(StreamWriteFeature.AUTO_CLOSE_CONTENT)
            .rootValueSeparator((String) null)
            .build();

    private final Path directory;
    private final Clock clock;
    private long rotateSize;
    private int keep;
    private Counted out;
    private JsonGenerator json;
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

    /** The generator to encode the next line's entry on; a file is begun first when there is none or the current one is full. */
    JsonGenerator line() throws IOException {
        if (json == null || out.count >= rotateSize) {
            begin();
        }
        return json;
    }

    /** Ends the line just encoded: its newline, and its bytes handed to the file's buffer (counted for the rotation). */
    void endLine() throws IOException {
        json.writeRaw('\n');
        json.flush();
    }

    /**
     * After a line failed (the disk, or the encoding): the file is closed as it is, its last line
     * ended where it was cut (readers skip it), and the next line begins a new file rather than
     * follow a broken one.
     */
    void abandon() {
        if (json != null) {
            try {
                json.writeRaw('\n');
                close();
            } catch (IOException ignored) {
                // the file is given up either way; the failure was counted and logged with its line
            } finally {
                json = null;
                out = null;
            }
        }
    }

    /** Writes what the buffer holds to the disk. */
    void flush() throws IOException {
        if (json != null) {
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
        json = JSON.createGenerator(out);
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
        if (json != null) {
            JsonGenerator closing = json;
            json = null;
            out = null;
            closing.close(); // and the file (the generator closes its target)
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
