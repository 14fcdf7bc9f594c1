#!/usr/bin/env bash
# A throwaway PostgreSQL for the scale-out job tests (several `zhongtai worker`s sharing one
# job backend). `start` prints "URL DIR" on stdout; `stop DIR` stops it and removes DIR.
# Installs the Debian package when no initdb is found. The server listens on 127.0.0.1 only,
# trusts local connections, and runs with fsync off (test data, thrown away).
set -euo pipefail

find_bin() {
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  echo "pg-test: installing postgresql (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  BIN=$(find_bin)
fi

run_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    dir=$(mktemp -d /tmp/zt-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run_as "$BIN/initdb" -D "$dir/data" -A trust -U zhongtai -E UTF8 >/dev/null
    run_as "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
    echo "postgres://zhongtai@127.0.0.1:$port/postgres $dir"
    ;;
  stop)
    dir=${2:?usage: pg-test.sh stop DIR}
    run_as "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-test.sh start | stop DIR" >&2
    exit 2
    ;;
esac
