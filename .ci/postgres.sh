#!/usr/bin/env bash
# Throwaway PostgreSQL + pgvector for CI and local test runs.
#
#   .ci/postgres.sh install   make pgvector (>= 0.8) available to the machine's PostgreSQL (root)
#   .ci/postgres.sh start     start a throwaway server; prints its URL as the last stdout line
#   .ci/postgres.sh stop      stop it and delete its files (harmless when nothing runs)
#   .ci/postgres.sh url       print the URL of the running server
#
# Environment: PGPORT_CI (default 55432), PGPASSWORD_CI (default neonhub-ci),
#              NEONHUB_CI_PG_STATE (state dir, default /tmp/neonhub-ci-pg).
set -euo pipefail

PORT="${PGPORT_CI:-55432}"
PASSWORD="${PGPASSWORD_CI:-neonhub-ci}"
STATE_DIR="${NEONHUB_CI_PG_STATE:-/tmp/neonhub-ci-pg}"
STATE_FILE="$STATE_DIR/state"
MIN_PGVECTOR=0.8
export DEBIAN_FRONTEND=noninteractive

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Run a noisy command (apt, dpkg, make); show its output only when it fails.
quiet() {
  local out rc
  out="$(mktemp)"
  if "$@" >"$out" 2>&1; then
    rm -f "$out"
  else
    rc=$?
    tail -n 40 "$out" >&2
    rm -f "$out"
    log "failed ($rc): $*"
    return "$rc"
  fi
}

# Highest installed server major (the machine may carry only client packages for others).
server_major() {
  local d major=""
  for d in /usr/lib/postgresql/*/bin/postgres; do
    [[ -x "$d" ]] || continue
    d="${d#/usr/lib/postgresql/}"
    d="${d%%/*}"
    if [[ -z "$major" ]] || (( d > major )); then major="$d"; fi
  done
  [[ -n "$major" ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
  echo "$major"
}

MAJOR="$(server_major)"
BINDIR="/usr/lib/postgresql/$MAJOR/bin"
# The server's own pg_config: /usr/bin/pg_config belongs to libpq-dev and may differ.
PG_CONFIG="$BINDIR/pg_config"

# version_ge A B: true when version A >= B.
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]; }

# Version of the installed extension ("" when absent or incomplete).
installed_pgvector_version() {
  local control
  control="$("$PG_CONFIG" --sharedir)/extension/vector.control"
  [[ -f "$control" && -f "$("$PG_CONFIG" --pkglibdir)/vector.so" ]] || return 0
  sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$control"
}

APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    quiet apt-get update
    APT_UPDATED=1
  fi
}

# Candidate version of a binary package in the current apt lists ("" when none).
apt_candidate() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)' || true
}

# The deb-src entry reuses the machine's Debian mirror and keyring.
add_trixie_deb_src() {
  local main=/etc/apt/sources.list.d/debian.sources uris signed_by
  local target=/etc/apt/sources.list.d/neonhub-ci-trixie-src.sources
  [[ -f "$target" ]] && return 0
  [[ -f "$main" ]] || die "$main not found; cannot derive a Debian mirror"
  # First stanza of debian.sources is the main archive (the second is debian-security).
  uris="$(awk '/^URIs:/ { sub(/^URIs: */, ""); print; exit }' "$main")"
  signed_by="$(awk '/^Signed-By:/ { sub(/^Signed-By: */, ""); print; exit }' "$main")"
  [[ -n "$uris" ]] || die "no URIs line in $main"
  log "adding deb-src for Debian trixie ($uris) in $target"
  {
    echo "Types: deb-src"
    echo "URIs: $uris"
    echo "Suites: trixie"
    echo "Components: main"
    if [[ -n "$signed_by" ]]; then echo "Signed-By: $signed_by"; fi
  } > "$target"
  APT_UPDATED=0
}

install_from_distro() {
  local pkg="$1"
  log "installing $pkg from apt"
  if ! quiet apt-get install -y --no-install-recommends "$pkg"; then
    # Stale lists can point at superseded .debs: refresh once and retry.
    APT_UPDATED=0
    apt_update_once
    quiet apt-get install -y --no-install-recommends "$pkg"
  fi
}

build_from_debian_source() {
  local work tarball srcdir jobs
  add_trixie_deb_src
  apt_update_once

  # Build deps: server headers (clang/llvm come as hard dependencies), plus a compiler if absent.
  local deps=("postgresql-server-dev-$MAJOR")
  command -v make >/dev/null || deps+=(make)
  command -v gcc >/dev/null || deps+=(gcc)
  log "installing build dependencies: ${deps[*]}"
  quiet apt-get install -y --no-install-recommends "${deps[@]}"

  work="$(mktemp -d /tmp/neonhub-ci-pgvector.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  log "downloading pgvector source package (trixie) into $work"
  # Owned by _apt so apt can fetch without its "unsandboxed as root" warning.
  if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi
  (cd "$work" && quiet apt-get source --download-only pgvector/trixie)
  tarball="$(ls "$work"/pgvector_*.orig.tar.* 2>/dev/null | head -1)"
  [[ -n "$tarball" ]] || die "no pgvector .orig tarball downloaded"
  tar -xf "$tarball" -C "$work"
  srcdir="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector*' | head -1)"
  [[ -n "$srcdir" ]] || die "could not find the unpacked pgvector source in $work"

  jobs="$(nproc 2>/dev/null || echo 2)"
  log "building $(basename "$tarball") with $PG_CONFIG"
  # with_llvm=no: JIT bitcode is only an optimisation and costs most of the build time.
  quiet make -C "$srcdir" -j"$jobs" PG_CONFIG="$PG_CONFIG" with_llvm=no
  quiet make -C "$srcdir" PG_CONFIG="$PG_CONFIG" with_llvm=no install
}

cmd_install() {
  local have candidate
  have="$(installed_pgvector_version)"
  if [[ -n "$have" ]] && version_ge "$have" "$MIN_PGVECTOR"; then
    log "pgvector $have already installed for PostgreSQL $MAJOR"
    return 0
  fi
  [[ $EUID == 0 ]] || die "install needs root (apt-get, make install)"
  local debian pkg="postgresql-$MAJOR-pgvector"
  debian="$(cat /etc/debian_version 2>/dev/null || echo unknown)"
  log "PostgreSQL $MAJOR on Debian $debian; pgvector ${have:-absent}, need >= $MIN_PGVECTOR"

  candidate="$(apt_candidate "$pkg")"
  if [[ -z "$candidate" ]] || ! version_ge "$candidate" "$MIN_PGVECTOR"; then
    # Nothing usable in the current lists. Before Debian 13 the binary package does not exist
    # (or is too old): add the source entry first so one update serves the build.
    if [[ "${debian%%.*}" =~ ^[0-9]+$ ]] && (( ${debian%%.*} < 13 )); then add_trixie_deb_src; fi
    apt_update_once
    candidate="$(apt_candidate "$pkg")"
  fi

  if [[ -n "$candidate" ]] && version_ge "$candidate" "$MIN_PGVECTOR"; then
    install_from_distro "$pkg"
  else
    log "$pkg: no candidate >= $MIN_PGVECTOR (${candidate:-none}); building from Debian source"
    build_from_debian_source
  fi

  have="$(installed_pgvector_version)"
  [[ -n "$have" ]] && version_ge "$have" "$MIN_PGVECTOR" || die "pgvector install failed (found '${have:-nothing}')"
  log "pgvector $have installed for PostgreSQL $MAJOR"
}

# Run a command as the postgres OS user (initdb/pg_ctl refuse to run as root).
as_pg() {
  if [[ $EUID == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Percent-encode for the userinfo part of a URL.
urlencode() {
  local s="$1" out="" c i
  for (( i = 0; i < ${#s}; i++ )); do
    c="${s:i:1}"
    case "$c" in
      [a-zA-Z0-9.~_-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

# Loads BASE, PORT, PASSWORD of the recorded server; false when there is none.
load_state() {
  [[ -f "$STATE_FILE" ]] || return 1
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  [[ -n "${BASE:-}" && -d "$BASE/data" ]]
}

is_running() {
  load_state && as_pg "$BINDIR/pg_ctl" status -D "$BASE/data" >/dev/null 2>&1
}

server_url() {
  echo "postgres://postgres:$(urlencode "$PASSWORD")@127.0.0.1:$PORT/postgres"
}

cmd_start() {
  if is_running; then
    log "already running on port $PORT (data in $BASE/data)"
    server_url
    return 0
  fi
  # Leftovers of a server that is gone; then take port and password from the environment again.
  if [[ -f "$STATE_FILE" ]]; then cmd_stop; fi
  PORT="${PGPORT_CI:-55432}"
  PASSWORD="${PGPASSWORD_CI:-neonhub-ci}"

  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  BASE="$(mktemp -d /tmp/neonhub-ci-pg.XXXXXX)"
  mkdir -p "$BASE/data" "$BASE/socket"
  printf '%s\n' "$PASSWORD" > "$BASE/pwfile"
  chmod 700 "$BASE"
  chmod 600 "$BASE/pwfile"
  if [[ $EUID == 0 ]]; then chown -R postgres:postgres "$BASE"; fi
  # Written before initdb so a failed start can still be cleaned up by `stop`.
  printf 'BASE=%q\nPORT=%q\nPASSWORD=%q\n' "$BASE" "$PORT" "$PASSWORD" > "$STATE_FILE"
  chmod 600 "$STATE_FILE"

  local t0=$SECONDS
  log "initdb (PostgreSQL $MAJOR) in $BASE/data"
  as_pg "$BINDIR/initdb" -D "$BASE/data" -U postgres --pwfile="$BASE/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$BASE/initdb.log" 2>&1 \
    || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
  rm -f "$BASE/pwfile"

  # PostgreSQL's defaults for everything that affects plans (jit, memory, costs), as a user's
  # server has them, so the suite sees the plans users get; the speed comes from durability a
  # throwaway server does not need (and minimal WAL: index builds and COPY skip it).
  cat >> "$BASE/data/postgresql.conf" <<EOF

# throwaway test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$BASE/socket'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
max_connections = 200
# As production servers often run: statement statistics loaded, and a log a superuser can read
# (the tests look for scope credentials in both).
shared_preload_libraries = 'pg_stat_statements'
logging_collector = on
log_directory = 'log'
EOF

  log "starting on 127.0.0.1:$PORT"
  if ! as_pg "$BINDIR/pg_ctl" start -D "$BASE/data" -l "$BASE/server.log" -w -t 60 >/dev/null; then
    tail -n 30 "$BASE/server.log" >&2 || true
    die "server did not start (port $PORT in use?)"
  fi
  local i
  for (( i = 0; i < 60; i++ )); do
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres && break
    sleep 0.5
  done
  "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres || die "server not ready after 30 s"
  log "ready in $(( SECONDS - t0 )) s"
  server_url
}

cmd_stop() {
  if ! load_state; then
    if [[ -n "${BASE:-}" && -d "$BASE" ]]; then rm -rf "$BASE"; fi
    rm -f "$STATE_FILE"
    log "no server recorded; nothing to stop"
    return 0
  fi
  if as_pg "$BINDIR/pg_ctl" status -D "$BASE/data" >/dev/null 2>&1; then
    log "stopping server on port $PORT"
    as_pg "$BINDIR/pg_ctl" stop -D "$BASE/data" -m fast -w -t 60 >/dev/null \
      || as_pg "$BINDIR/pg_ctl" stop -D "$BASE/data" -m immediate -w >/dev/null || true
  fi
  rm -rf "$BASE"
  rm -f "$STATE_FILE"
  rmdir "$STATE_DIR" 2>/dev/null || true
  log "stopped and removed $BASE"
}

cmd_url() {
  is_running || die "no server running (run: $0 start)"
  server_url
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) echo "usage: $0 install|start|stop|url" >&2; exit 2 ;;
esac
