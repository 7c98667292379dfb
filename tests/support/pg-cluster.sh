#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and scripts.
#
#   pg-cluster.sh start [--durable] DIR [DBNAME]
#                                     fresh cluster in DIR (anything there from
#                                     an earlier run is stopped and wiped),
#                                     database DBNAME (default kiln) created;
#                                     prints the URI and writes it to DIR/uri;
#                                     --durable keeps PostgreSQL's crash safety
#                                     (fsync, full page writes): for data that
#                                     must survive a power cut (the quickstart)
#   pg-cluster.sh halt DIR            stop the server at once, keep the data
#   pg-cluster.sh resume DIR          start a halted server again, same port
#   pg-cluster.sh stop DIR            stop the server at once and remove DIR
#   pg-cluster.sh run DIR [DBNAME]    start, print the URI, wait until stdin
#                                     gets a line or closes, then stop: a
#                                     program that holds stdin open cannot
#                                     leak the cluster, however it dies
#
# Typical use:
#   dir=$(mktemp -d /tmp/kiln-pg-XXXXXX)
#   trap 'tests/support/pg-cluster.sh stop "$dir"' EXIT
#   uri=$(tests/support/pg-cluster.sh start "$dir")
#
# The server runs as the postgres OS user when called by root (PostgreSQL
# refuses to run as root), listens on a free TCP port on 127.0.0.1 and on a
# unix socket in DIR/sock, and, unless --durable, trades durability for
# speed (fsync off).
set -euo pipefail

PG_BIN=${KILN_PG_BIN:-/usr/lib/postgresql/15/bin}
# Written at start; stop only deletes directories carrying it, so a typo in
# DIR can never remove something that is not a test cluster.
MARKER=.kiln-pg-cluster

die() { echo "pg-cluster.sh: $*" >&2; exit 1; }

usage() { die "usage: pg-cluster.sh start [--durable] DIR [DBNAME] | halt DIR | resume DIR | stop DIR | run DIR [DBNAME]"; }

# fd 9 holds the lock on DIR (see lock_dir); closed for the commands run
# here so that the postmaster started by pg_ctl does not inherit it.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@" 9<&-; else "$@" 9<&-; fi
}

# Serializes commands on one DIR: a `stop` issued while a `start` or
# `resume` is still going (say, by the cleanup trap of an interrupted
# script) waits for it, then finds the server to stop; without the lock it
# would find nothing, and the server would be left behind.
lock_dir() {
  [ -d "$1" ] || die "no directory '$1'"
  exec 9<"$1"
  flock -w 120 9 || die "timed out waiting for another pg-cluster.sh command on '$1'"
}

# The postgres user may not be able to enter the caller's working directory.
cd /

server_running() {
  [ -f "$1/data/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

halt_server() {
  local dir=$1
  [ -d "$dir/data" ] || return 0
  if server_running "$dir"; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
  # pg_ctl may fail on a damaged data directory; the postmaster must go anyway.
  local pid
  pid=$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts the server on the port saved in DIR/port, or on a free one when
# there is none yet. Another process can grab a port between the check and
# the bind, hence the retries.
start_server() {
  local dir=$1 port attempt
  for attempt in $(seq 20); do
    if [ -f "$dir/port" ]; then
      port=$(cat "$dir/port")
    else
      port=$((20000 + RANDOM % 40000))
      port_in_use "$port" && continue
    fi
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-p $port" start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      return 0
    fi
    if [ -f "$dir/port" ] || ! grep -q "could not bind\|Address already in use" "$dir/server.log"; then
      break
    fi
    : >"$dir/server.log"
  done
  die "PostgreSQL did not start (attempt $attempt); end of $dir/server.log:
$(tail -n 20 "$dir/server.log" 2>/dev/null)"
}

cmd_start() {
  local durable=0
  if [ "${1:-}" = "--durable" ]; then durable=1; shift; fi
  [ $# -ge 1 ] && [ $# -le 2 ] || usage
  local dir=$1 db=${2:-kiln}
  [[ $db =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "database name '$db' must match [a-z_][a-z0-9_]*"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  lock_dir "$dir"
  # The socket path (DIR/sock/.s.PGSQL.NNNNN) must fit in sun_path (107 bytes).
  [ ${#dir} -le 80 ] || die "DIR '$dir' is too long for a unix socket path; use a short one such as \$(mktemp -d /tmp/kiln-pg-XXXXXX)"
  if [ -e "$dir/$MARKER" ]; then
    halt_server "$dir"
    rm -rf "${dir:?}/data" "$dir/sock" "$dir/port" "$dir/uri" "$dir/server.log" "$dir/initdb.log"
  elif [ -n "$(ls -A "$dir")" ]; then
    die "DIR '$dir' is not empty and was not made by pg-cluster.sh; give an empty or new directory"
  fi
  touch "$dir/$MARKER"
  mkdir -p "$dir/sock"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
  as_postgres test -w "$dir" ||
    die "the postgres user cannot write to '$dir' (a parent directory is closed to it?); use a directory under /tmp"

  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
    die "initdb failed; end of $dir/initdb.log:
$(tail -n 20 "$dir/initdb.log")"
  cat >>"$dir/data/postgresql.conf" <<EOF

# pg-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 200
wal_level = minimal
max_wal_senders = 0
max_wal_size = 1GB
shared_buffers = 32MB
EOF
  if [ "$durable" = 0 ]; then
    cat >>"$dir/data/postgresql.conf" <<EOF
# A throwaway cluster for tests: speed over durability.
fsync = off
synchronous_commit = off
full_page_writes = off
checkpoint_timeout = 1h
EOF
  fi
  start_server "$dir"
  local port
  port=$(cat "$dir/port")
  as_postgres "$PG_BIN/psql" -X -q -h "$dir/sock" -p "$port" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
    die "could not create database $db"
  local uri="postgresql://postgres@127.0.0.1:$port/$db"
  echo "$uri" >"$dir/uri"
  echo "$uri"
}

require_cluster() {
  [ -e "$1/$MARKER" ] || die "'$1' is not a cluster made by pg-cluster.sh start"
}

cmd_halt() { lock_dir "$1"; require_cluster "$1"; halt_server "$1"; }

cmd_resume() {
  lock_dir "$1"
  require_cluster "$1"
  server_running "$1" || start_server "$1"
}

cmd_stop() {
  local dir=$1
  [ -e "$dir" ] || return 0
  lock_dir "$dir"
  [ -e "$dir" ] || return 0  # removed by a stop we waited for
  # A start killed before it marked DIR leaves it empty.
  if [ ! -e "$dir/$MARKER" ] && rmdir "$dir" 2>/dev/null; then return 0; fi
  require_cluster "$dir"
  halt_server "$dir"
  rm -rf "$dir"
}

cmd_run() {
  # A separate bash, because `set -e` is off inside an if condition.
  if ! bash "${BASH_SOURCE[0]}" start "$@"; then
    cmd_stop "$1"
    exit 1
  fi
  # The owner may be gone by the time we stop; nothing more may be written.
  exec >/dev/null 2>&1
  read -r _ || true
  cmd_stop "$1"
}

[ $# -ge 2 ] || usage
command=$1
shift
case $command in
  start) cmd_start "$@" ;;
  halt) [ $# -eq 1 ] || usage; cmd_halt "$1" ;;
  resume) [ $# -eq 1 ] || usage; cmd_resume "$1" ;;
  stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
  run) [ $# -le 2 ] || usage; cmd_run "$@" ;;
  *) usage ;;
esac
