package dev.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;

/**
 * Finds where a message head (or a trailer section) ends, and where each of its lines ends, with
 * Netty's word-at-a-time search for line feeds: one scan, for the decoders of both directions.
 * The line ends go into an array per thread (per event loop), not per connection, and are read
 * with {@link #ends()} right after {@link #find}.
 */
public final class HeadLines {
    /** No blank line yet: the head continues in bytes not read yet. */
    public static final int NEEDS_MORE = -1;
    /** A line that does not end in CRLF. */
    public static final int BAD_LINE_END = -2;
    /** The head runs past the size allowed. */
    public static final int TOO_LONG = -3;

    private static final FastThreadLocal<int[][]> ENDS = new FastThreadLocal<>() {
        @Override
        protected int[][] initialValue() {
            return new int[][] {new int[32]};
        }
    };

    private HeadLines() {}

    /**
     * The index just past the blank line that ends the head starting at {@code start}, or
     * {@link #NEEDS_MORE}, {@link #BAD_LINE_END}, {@link #TOO_LONG} (more than {@code maxBytes}).
     * Records where each line ends (the index of its CR, counted from {@code start}; the blank
     * line's is last) for {@link #ends()}.
     */
    public static int find(ByteBuf in, int start, int end, int maxBytes) {
        int[][] holder = ENDS.get();
        int[] ends = holder[0];
        int lines = 0;
        int lineStart = start;
        while (true) {
            int lf = in.indexOf(lineStart, end, (byte) '\n');
            if (lf < 0) {
                return NEEDS_MORE;
            }
            if (lf == lineStart || in.getByte(lf - 1) != '\r') {
                return BAD_LINE_END;
            }
            if (lf + 1 - start > maxBytes) {
                return TOO_LONG;
            }
            if (lines == ends.length) {
                ends = Arrays.copyOf(ends, lines * 2);
                holder[0] = ends;
            }
            ends[lines++] = lf - 1 - start;
            if (lf - 1 == lineStart) {
                return lf + 1;
            }
            lineStart = lf + 1;
        }
    }

    /** The line ends the last {@link #find} on this thread recorded. */
    public static int[] ends() {
        return ENDS.get()[0];
    }
}
