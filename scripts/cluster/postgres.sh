#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: a cluster in a folder of its own, reached only through
# a Unix socket in that folder (no TCP port, so it never meets another server on the
# machine), run as the `postgres` user when started by root (initdb refuses root).
#
#   scripts/cluster/postgres.sh start DIR   # prints the URL (also in DIR/url): postgresql:///irene?host=DIR/run&user=postgres
#   scripts/cluster/postgres.sh stop DIR    # stops it and removes DIR
#   scripts/cluster/postgres.sh pause DIR   # stops the server, keeping its data (a store that goes away)
#   scripts/cluster/postgres.sh resume DIR  # starts it again on the same data
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop|pause|resume DIR}
dir=${2:?usage: postgres.sh start|stop|pause|resume DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/initdb" ] || { echo "postgres.sh: no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; }

as_owner=()
if [ "$(id -u)" -eq 0 ]; then as_owner=(runuser -u postgres --); fi
pg() { "${as_owner[@]}" "$@"; }

start_server() {
  pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir/run' -c max_connections=200 -c fsync=off" start >/dev/null
}

stop_server() {
  if [ -f "$dir/data/postmaster.pid" ]; then pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true; fi
}

case "$cmd" in
  start)
    # What a run killed before its cleanup left behind goes first.
    [ -d "$dir" ] && { stop_server; rm -rf "$dir"; }
    mkdir -p "$dir/run"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
    pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    start_server
    pg "$bin/createdb" -h "$dir/run" -U postgres irene
    echo "postgresql:///irene?host=$dir/run&user=postgres" | tee "$dir/url"
    ;;
  pause) pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  resume) start_server ;;
  stop)
    stop_server
    rm -rf "$dir"
    ;;
  *) echo "postgres.sh: unknown command '$cmd' (start, stop, pause, resume)" >&2; exit 2 ;;
esac
