package dev.sluice.config;

/** Names for places in the config tree as messages print them: {@code routes[0].match.path}. */
final class Paths {
    static final String ROOT = "";

    private Paths() {}

    static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    static String item(String path, int index) {
        return path + "[" + index + "]";
    }

    /** "in routes[0].match", or "at the top level" for the root map. */
    static String where(String path) {
        return path.isEmpty() ? "at the top level" : "in " + path;
    }
}
