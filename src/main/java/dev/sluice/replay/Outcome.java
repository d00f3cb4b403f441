package dev.sluice.replay;

/** What became of one recorded request in a replay. */
sealed interface Outcome {
    RecordedExchange recorded();

    /** The target answered whole: its status, the time to the last body byte, the body's SHA-256. */
    record Answered(RecordedExchange recorded, int status, long nanos, String bodySha256) implements Outcome {}

    /** No whole answer; {@code detail} is the client's message, kept for the first of each kind. */
    record Failed(RecordedExchange recorded, ReplayFailure kind, long nanos, String detail) implements Outcome {}

    /** Not sent, and why. */
    record Skipped(RecordedExchange recorded, SkipReason why) implements Outcome {}

    enum SkipReason {
        /** POST, PUT, PATCH, DELETE…: sent only with {@code --allow-unsafe}. */
        UNSAFE,
        /** The recording kept only a prefix of the request body: sending it would be another request. */
        TRUNCATED_BODY
    }
}
