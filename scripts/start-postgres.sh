#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 on loopback for the tests and prints the URL to use.
#   eval "$(bash scripts/start-postgres.sh)"   # exports CLAIFLOW_TEST_POSTGRES_URL
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
# Data lives in $CLAIFLOW_PG_DIR (default /tmp/claiflow-test-pg) and is wiped on each start;
# fsync is off unless CLAIFLOW_PG_FSYNC=on (the benchmark uses on): this database is for tests only.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
DIR=${CLAIFLOW_PG_DIR:-/tmp/claiflow-test-pg}
PORT=${CLAIFLOW_PG_PORT:-55432}
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "start-postgres: no PostgreSQL server binaries found (apt-get install postgresql)" >&2
  exit 1
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ -f "$DIR/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$DIR" -m immediate stop >/dev/null 2>&1 || true; fi
rm -rf "$DIR"
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
as_pg "$PGBIN/initdb" -D "$DIR" -A trust -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=${CLAIFLOW_PG_FSYNC:-off} -c max_connections=300" start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres claiflow_test
echo "export CLAIFLOW_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/claiflow_test"
