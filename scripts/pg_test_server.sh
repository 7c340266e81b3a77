#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL for the store and digest tests.
#   scripts/pg_test_server.sh start   → prints the DATABASE URL to use
#   scripts/pg_test_server.sh stop
# Installs Debian's postgresql package when it is missing (CI machines start
# without it). Runs as the postgres user, since the server refuses root, with
# its data and socket in a temporary directory, listening on loopback only.
set -euo pipefail
PORT="${LINKBRIEF_PG_PORT:-54329}"
DIR="${LINKBRIEF_PG_DIR:-/tmp/linkbrief-pg}"
URL="postgresql+asyncpg://linkbrief:linkbrief@127.0.0.1:${PORT}/linkbrief"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

install_pg() {
  if ! find_bin >/dev/null; then
    echo "installing postgresql from Debian's packages…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    install_pg
    BIN=$(find_bin)
    if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      echo "$URL"; exit 0
    fi
    rm -rf "$DIR"; mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >/dev/null
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >/dev/null
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
      "CREATE ROLE linkbrief LOGIN PASSWORD 'linkbrief' CREATEDB;" >/dev/null
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
      "CREATE DATABASE linkbrief OWNER linkbrief;" >/dev/null
    echo "$URL"
    ;;
  stop)
    BIN=$(find_bin) || exit 0
    [ -d "$DIR/data" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
