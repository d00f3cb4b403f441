package dev.sluice.config;

/** A 1-based line and column in the config text, printed as {@code line:column}. */
record Position(int line, int column) {
    static final Position START = new Position(1, 1);

    boolean isAfter(Position other) {
        return line > other.line || (line == other.line && column > other.column);
    }

    @Override
    public String toString() {
        return line + ":" + column;
    }
}
