package dev.sluice.replay;

/** A recording that cannot be replayed, its message located as {@code FILE:LINE: what is wrong}. */
final class RecordingException extends Exception {
    RecordingException(String message) {
        super(message, null, false, false);
    }
}
