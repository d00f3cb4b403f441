# shellcheck shell=bash
# Finding a JDK 21+ for Sluice. Sourced by bin/sluice and bin/test; the one place this lives.
#
# Order, first match wins:
#   1. $JAVA_HOME, if it is a JDK 21+
#   2. `java` on PATH, if it belongs to a JDK 21+
#   3. the newest JDK 21+ under $SLUICE_JVM_DIR (default /usr/lib/jvm)
# A JDK, not a JRE: both callers may have to compile (bin/sluice builds the jar on first use).
# The default `java` on Debian 12 is 17, which is why the PATH is not simply trusted.
#
# After sluice_require_jdk: JAVA_HOME is exported, $JAVA_HOME/bin leads PATH, and
# SLUICE_JAVA_FEATURE holds the feature version (21, 25, ...).

SLUICE_MIN_JAVA_FEATURE=21

# Prints the full version of the JDK at $1 ("25.0.3", "21", "1.8.0_392"); fails if $1 is not a JDK.
_sluice_jdk_version() {
  local home=$1 line version=
  [[ -x $home/bin/java && -x $home/bin/javac ]] || return 1
  # The release file (JDK 9+) is read without starting a JVM, so the common case costs nothing.
  if [[ -r $home/release ]]; then
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([^\"]+)\" ]]; then
        version=${BASH_REMATCH[1]}
        break
      fi
    done <"$home/release"
  fi
  if [[ -z $version ]]; then
    # `java -version` prints e.g.: openjdk version "21.0.2" 2024-01-16
    line=$("$home/bin/java" -version 2>&1) || return 1
    [[ $line =~ version\ \"([^\"]+)\" ]] || return 1
    version=${BASH_REMATCH[1]}
  fi
  printf '%s\n' "$version"
}

# "25.0.3" -> 25, "21" -> 21, "23-ea" -> 23, "1.8.0_392" -> 8
_sluice_feature_of() {
  local v=$1
  [[ $v == 1.* ]] && v=${v#1.}
  v=${v%%[!0-9]*}
  printf '%s\n' "${v:-0}"
}

# Succeeds, printing the full version, if the JDK at $1 is 21+.
_sluice_jdk_ok() {
  local version
  version=$(_sluice_jdk_version "$1") || return 1
  (($(_sluice_feature_of "$version") >= SLUICE_MIN_JAVA_FEATURE)) || return 1
  printf '%s\n' "$version"
}

# Prints the JDK home of the first JDK 21+ in the order above; fails if there is none.
sluice_find_jdk() {
  local java home version best
  if [[ -n ${JAVA_HOME-} ]] && _sluice_jdk_ok "$JAVA_HOME" >/dev/null; then
    printf '%s\n' "$JAVA_HOME"
    return 0
  fi
  if java=$(command -v java); then
    # /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/X/bin/java
    java=$(readlink -f -- "$java")
    home=${java%/bin/java}
    if _sluice_jdk_ok "$home" >/dev/null; then
      printf '%s\n' "$home"
      return 0
    fi
  fi
  # Newest wins: "version<TAB>home" lines, sort -V puts 21.0.10 after 21.0.9.
  best=$(
    for home in "${SLUICE_JVM_DIR:-/usr/lib/jvm}"/*; do
      if version=$(_sluice_jdk_ok "$home"); then
        printf '%s\t%s\n' "$version" "$(readlink -f -- "$home")"
      fi
    done | sort -V | tail -n 1
  )
  best=${best#*$'\t'}
  [[ -n $best ]] || return 1
  printf '%s\n' "$best"
}

# "/usr/bin/java: Java 17" or "none", for the message below.
_sluice_describe_path_java() {
  local java version
  java=$(command -v java) || { echo none; return; }
  version=$(_sluice_jdk_version "$(readlink -f -- "$java" | sed 's|/bin/java$||')") ||
    { echo "$java: not part of a JDK"; return; }
  echo "$java: Java $(_sluice_feature_of "$version")"
}

# "/opt/jdk: Java 17", "unset" or "/opt/x: not a JDK", for the message below.
_sluice_describe_java_home() {
  local version
  [[ -n ${JAVA_HOME-} ]] || { echo unset; return; }
  version=$(_sluice_jdk_version "$JAVA_HOME") || { echo "$JAVA_HOME: not a JDK"; return; }
  echo "$JAVA_HOME: Java $(_sluice_feature_of "$version")"
}

# What to install, worded for this machine; on stderr, then exit 1.
_sluice_no_jdk() {
  local prog=$1
  {
    echo "$prog: Sluice needs a JDK $SLUICE_MIN_JAVA_FEATURE or newer, and none was found."
    echo "  looked at: JAVA_HOME ($(_sluice_describe_java_home))"
    echo "             java on PATH ($(_sluice_describe_path_java))"
    echo "             ${SLUICE_JVM_DIR:-/usr/lib/jvm}/*"
    echo "  to fix, one of:"
    if ! command -v apt-cache >/dev/null 2>&1; then
      echo "    install a JDK 21 or newer with the system's package manager, or Eclipse Temurin"
      echo "      (https://adoptium.net) under /usr/lib/jvm"
    elif apt-cache show openjdk-21-jdk-headless >/dev/null 2>&1; then
      echo "    apt-get install openjdk-21-jdk-headless"
    else
      echo "    install Eclipse Temurin 21 or newer (https://adoptium.net) under /usr/lib/jvm"
      echo "      (no openjdk-21-jdk-headless in this system's apt sources; Debian 12 stops at 17)"
    fi
    echo "    export JAVA_HOME=/path/to/jdk-21-or-newer"
  } >&2
  exit 1
}

# Finds the JDK or exits 1 with what to install. $1 names the caller in messages.
sluice_require_jdk() {
  local prog=${1:-sluice} home
  home=$(sluice_find_jdk) || _sluice_no_jdk "$prog"
  if [[ -n ${JAVA_HOME-} && $home != "$JAVA_HOME" ]]; then
    # Said once so that a deliberate JAVA_HOME is never overridden silently.
    echo "$prog: JAVA_HOME=$JAVA_HOME is not a JDK $SLUICE_MIN_JAVA_FEATURE+; using $home" >&2
  fi
  JAVA_HOME=$home
  export JAVA_HOME
  PATH=$JAVA_HOME/bin:$PATH
  # shellcheck disable=SC2034 # read by bin/sluice
  SLUICE_JAVA_FEATURE=$(_sluice_feature_of "$(_sluice_jdk_version "$home")")
}
