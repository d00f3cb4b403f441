# shellcheck shell=bash
# The JVM options Sluice runs with, and why each. Sourced by bin/sluice and by the container
# image's entrypoint (deploy/image/sluice), so both start the same JVM; the one place they live.
#
# sluice_jvm_options fills the arrays jvm_opts (the defaults) and user_opts (SLUICE_JAVA_OPTS,
# split on spaces; they come after the defaults and so win over them). It reads SLUICE_HEAP and
# SLUICE_JAVA_FEATURE (the JDK's feature version, as bin/lib/java.sh sets it).
sluice_jvm_options() {
  jvm_opts=()
  read -r -a user_opts <<<"${SLUICE_JAVA_OPTS-}"

  # The collector. Sluice's live set is tiny and its garbage dies young (request heads, pipeline
  # messages), so a stop-the-world young collection of a small heap takes well under a
  # millisecond. On up to 2 cores the serial collector is the right tool: no GC threads competing
  # with the event loops for the few cores there are. Measured with bench/run on this 2-core
  # machine (proxy pinned to one core): ZGC held 1.7 GB RSS, 6 KiB per idle connection and a 6x
  # worse p99 than nginx, its concurrent threads sharing the event loop's core; serial held
  # ~230 MB and 1.5 KiB per idle connection. With more cores the JVM's default (G1) is kept.
  # Skipped when SLUICE_JAVA_OPTS picks a collector: two collectors on one command line is a
  # startup error.
  user_picked_gc=false
  for opt in "${user_opts[@]}"; do
    if [[ $opt =~ ^-XX:\+Use[A-Za-z0-9]*GC$ ]]; then user_picked_gc=true; fi
  done
  small_machine=false
  if (($(nproc 2>/dev/null || echo 4) <= 2)); then small_machine=true; fi
  #
  # With it, objects that survive one young collection go straight to the old generation
  # (MaxTenuringThreshold=0). A proxy's objects either die within a request (microseconds) or
  # live as long as a connection, a pool or the config (minutes); copying the long-lived ones
  # between survivor spaces 15 times only costs pauses and memory. Measured on this machine: the
  # first 16 young pauses after start took 8-15 ms each (4 MB of start-up and connection state
  # copied every time) and then 0.5 ms; with 0 every pause after the first is ~0.5 ms. 10,000
  # idle connections cost 1.4 KiB each instead of 3.4 (the survivor spaces are never touched).
  # What is promoted by mistake (a request in flight at the collection) is ~17 KB per collection
  # under full load: the old generation fills in hours, and its collection then is one pause of
  # tens of milliseconds for a live set of tens of megabytes.
  if [[ $user_picked_gc == false && $small_machine == true ]]; then
    jvm_opts+=(-XX:+UseSerialGC -XX:MaxTenuringThreshold=0)
  fi
  # The JIT, on the same few cores. In the first second the compiler threads compiled code that
  # runs once (CLI parsing, config binding, logging set-up) and used ~0.5 s of the one core a
  # benchmark gives the proxy, more than the main thread did: start to first proxied 200 on one
  # core was ~0.82 s. Compiling a method only after 4x the default invocation counts leaves
  # run-once code interpreted (~0.61 s) while the data plane, invoked tens of thousands of times a
  # second under load, still reaches the thresholds within its first second of traffic.
  if [[ $small_machine == true ]]; then
    jvm_opts+=(-XX:CompileThresholdScaling=4)
  fi
  # A JVM that ran out of memory is in an unknown state (a handler may have died mid-request
  # holding a pooled connection); exiting lets the supervisor restart it clean instead of
  # serving half-broken.
  jvm_opts+=(-XX:+ExitOnOutOfMemoryError)
  # Netty's native epoll transport loads a JNI library; from JDK 24 (JEP 472) that prints a
  # warning on every start unless native access is granted. Accepted, without effect, on 21-23.
  jvm_opts+=(--enable-native-access=ALL-UNNAMED)
  # Netty reads and writes its buffers through sun.misc.Unsafe where it may. From JDK 24 (JEP 498)
  # the JVM warns on that use and Netty 4.2 then stays off Unsafe by default, going through
  # ByteBuffer accessors with a bounds and memory-session check on every byte it encodes (a
  # profile under load showed them, and the Unsafe-free reference-count checks, at ~15% of the
  # event loop's user time). Allowing it is what Netty asks of JDK 24+ users; JDK 21-23 allow it
  # anyway and do not know the flag.
  if ((SLUICE_JAVA_FEATURE >= 24)); then
    jvm_opts+=(--sun-misc-unsafe-memory-access=allow)
  fi
  # Compact object headers (JEP 519, a product option from JDK 25): 8-byte instead of 12-byte
  # headers. Most of what Sluice allocates is small (a connection is ~40 objects of 16-64 bytes,
  # a request a few dozen more), so the live heap per idle connection fell ~10% (2.2 -> 2.0 KB)
  # and there is less to allocate and collect per request.
  if ((SLUICE_JAVA_FEATURE >= 25)); then
    jvm_opts+=(-XX:+UseCompactObjectHeaders)
  fi
  # Netty's leak detector samples 1 buffer in 128 and records a stack trace for it: a Throwable per
  # sample on the data plane (~1.5% of the event loop in a profile). Leaks are the test suite's to
  # find (it runs with the detector at PARANOID and fails on a leak), not production's.
  jvm_opts+=(-Dio.netty.leakDetection.level=disabled)
  # Netty's pooled allocator, with a per-thread cache, instead of 4.2's default adaptive one: on
  # Sluice's data plane every buffer is taken and given back on the same event loop, where the
  # adaptive allocator still pays a lock and a multi-producer queue per buffer (~5% of the event
  # loop's user time in a profile; the pooled one was ~4% lower in user time per request, in
  # paired runs).
  jvm_opts+=(-Dio.netty.allocator.type=pooled)
  # 512 MiB heap by default: Sluice's live set is small (configs, routes, per-connection state;
  # bodies stream through pooled direct buffers, off the heap). Left to the JVM's default (1/4 of
  # RAM), the collector lets garbage pile up and the process was measured at 1.7 GB RSS under a
  # 50-connection load where nginx uses 20 MB.
  jvm_opts+=("-Xmx${SLUICE_HEAP:-512m}")
}
