package dev.sluice.config;

/** A password hash of the users file, its syntax checked at load: bcrypt or argon2id. */
public sealed interface PasswordHashConfig {
    /** The hash as written in the file. */
    String text();

    /** {@code $2y$}, {@code $2b$} or {@code $2a$} (htpasswd -B, OpenBSD), with its cost and 22+31 characters of salt and hash. */
    record Bcrypt(String text) implements PasswordHashConfig {}

    /**
     * {@code $argon2id$v=19$m=65536,t=3,p=4$salt$hash} (the PHC string format: base64 without
     * padding). Equal when their text is.
     *
     * @param version 19 (0x13) or 16 (0x10)
     * @param memoryKiB {@code m}, in KiB
     * @param iterations {@code t}
     * @param parallelism {@code p}
     */
    record Argon2id(String text, int version, int memoryKiB, int iterations, int parallelism, byte[] salt,
                    byte[] hash) implements PasswordHashConfig {
        public Argon2id {
            salt = salt.clone();
            hash = hash.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }

        @Override
        public byte[] hash() {
            return hash.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Argon2id a && a.text.equals(text);
        }

        @Override
        public int hashCode() {
            return text.hashCode();
        }

        @Override
        public String toString() {
            return "Argon2id[m=" + memoryKiB + ",t=" + iterations + ",p=" + parallelism + "]";
        }

        /** 1 GiB: each check allocates {@code m} KiB on a checking thread; more is a typo, or a hash made for another system. */
        static final int MAX_MEMORY_KIB = 1024 * 1024;
    }
}
