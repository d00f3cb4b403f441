package dev.sluice.apps;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What Linux says of a process in {@code /proc/PID/stat}: its process group, session and start
 * time (clock ticks since boot). The start time tells a process from a later one given the same
 * pid, so a pid record is never used to kill a stranger.
 */
record ProcStat(long pid, long group, long session, long startTicks) {

    static Optional<ProcStat> of(long pid) {
        String text;
        try {
            text = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException | RuntimeException gone) {
            return Optional.empty();
        }
        // proc(5): "pid (comm) state ppid pgrp session ... starttime(22nd)"; comm may hold spaces and ')'.
        int end = text.lastIndexOf(')');
        if (end < 0) {
            return Optional.empty();
        }
        String[] fields = text.substring(end + 2).trim().split(" ");
        if (fields.length < 20) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ProcStat(pid, Long.parseLong(fields[2]), Long.parseLong(fields[3]),
                    Long.parseLong(fields[19])));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** True while some process is still in the group and session that {@code leader} started, since it started. */
    static boolean groupAlive(long leader, long leaderStartTicks) {
        try (var pids = Files.list(Path.of("/proc"))) {
            return pids.map(p -> p.getFileName().toString())
                    .filter(name -> !name.isEmpty() && name.chars().allMatch(Character::isDigit))
                    .map(name -> of(Long.parseLong(name)))
                    .flatMap(Optional::stream)
                    .anyMatch(s -> s.group() == leader && s.session() == leader && s.startTicks() >= leaderStartTicks);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
