package dev.sluice.failure;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The words of an I/O failure as a person reads them. Netty's native transport reports a failed
 * system call as {@code finishConnect(..) failed with error(-111): Connection refused}: the
 * call's name and errno are for whoever debugs Netty, not for an operator reading why a health
 * check failed or a port could not be bound. This keeps what the kernel said
 * ({@code connection refused}, {@code address already in use}).
 */
public final class IoErrors {
    /** {@code name(..) failed with error(-N): text} and {@code name(..) failed: text}. */
    private static final Pattern NATIVE_CALL = Pattern.compile("^\\w+\\(\\.\\.\\) failed(?: with error\\(-?\\d+\\))?: (.*)$",
            Pattern.DOTALL);

    private IoErrors() {}

    /** What went wrong, in the kernel's words: the message without the native call, lowercase first. */
    public static String describe(Throwable failure) {
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            return failure.getClass().getSimpleName();
        }
        Matcher m = NATIVE_CALL.matcher(message);
        String words = m.matches() ? m.group(1) : message;
        return words.isEmpty() ? message : Character.toLowerCase(words.charAt(0)) + words.substring(1);
    }
}
