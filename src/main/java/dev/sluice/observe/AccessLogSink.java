package dev.sluice.observe;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Where the access log's bytes go; used by the {@link AccessLogWriter}'s thread only. */
interface AccessLogSink {
    void write(byte[] bytes, int offset, int length) throws IOException;

    void flush() throws IOException;

    /** The same destination opened anew (a log file renamed by logrotate is created again). */
    AccessLogSink reopen() throws IOException;

    void close() throws IOException;

    /** Appends to a file; {@link #reopen} opens the path again. */
    record FileSink(Path path, FileChannel channel) implements AccessLogSink {
        static FileSink open(Path path) throws IOException {
            if (path.getParent() != null) {
                Files.createDirectories(path.getParent());
            }
            return new FileSink(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND));
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, length);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        }

        @Override
        public void flush() {
            // Each write is a write(2): the bytes are the kernel's already.
        }

        @Override
        public AccessLogSink reopen() throws IOException {
            FileSink reopened = open(path);
            channel.close();
            return reopened;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** A stream someone else opened (stdout): flushed, never closed or reopened. */
    record StreamSink(OutputStream out) implements AccessLogSink {
        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            out.write(bytes, offset, length);
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public AccessLogSink reopen() {
            return this;
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
