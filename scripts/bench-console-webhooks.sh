#!/usr/bin/env bash
# Server time of the console's webhook and API key pages with a webhook that has a large delivery
# log: starts `claiflow server` on a scratch database, creates the webhooks through the API,
# writes the deliveries straight into the database (1 % failed, 10 skipped, the rest delivered),
# restarts the server on it, signs in and prints curl's time_total (median of 5) per page.
#
#   bash scripts/bench-console-webhooks.sh                       # SQLite in a scratch folder
#   DATABASE=postgres://postgres@127.0.0.1:55433/bench_x bash scripts/bench-console-webhooks.sh
#
# Environment: CLAIFLOW_BIN (default .build/release/claiflow, else .build/debug/claiflow),
# DELIVERIES (default 100000), DATABASE (an empty PostgreSQL database; default SQLite).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BIN=${CLAIFLOW_BIN:-$root/.build/release/claiflow}
[ -x "$BIN" ] || BIN=$root/.build/debug/claiflow
N=${DELIVERIES:-100000}
work=$(mktemp -d)
DATABASE=${DATABASE:-sqlite:$work/claiflow.sqlite}
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
url="http://127.0.0.1:$port"

start() {
  "$BIN" server --host 127.0.0.1 --port "$port" --grpc-port off --database "$DATABASE" --admin-token "$key" \
    --log-level warning >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "$url/healthz" >/dev/null 2>&1 && return
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server did not start" >&2
  exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }
api() { curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@" >/dev/null; }

start
api -d '{"uuid":"c1","name":"c1"}' "$url/api/v1/cluster"
api -d '{"uuid":"bench-hook","name":"bench-hook","url":"http://127.0.0.1:9/hook","method":"POST"}' "$url/api/v1/webhook"
for i in $(seq 1 49); do
  api -d "{\"uuid\":\"hook-$i\",\"name\":\"hook-$i\",\"url\":\"http://127.0.0.1:9/$i\",\"method\":\"POST\"}" "$url/api/v1/webhook"
done
for i in $(seq 1 20); do api -d "{\"name\":\"key-$i\",\"role\":\"viewer\"}" "$url/api/v1/api_key"; done
stop

now=$(($(date +%s) * 1000000))
if [[ "$DATABASE" == sqlite:* ]]; then
  sqlite3 "${DATABASE#sqlite:}" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, attempts, last_code,
    last_error, created, updated, delivered)
SELECT printf('bd%07d', i), 'bench-hook', 'c1', printf('s%07d', i), '{"status":4}',
    CASE WHEN i % 10000 = 5 THEN 'skipped' WHEN i % 100 = 0 THEN 'failed' ELSE 'delivered' END,
    CASE WHEN i % 100 = 0 THEN 8 ELSE 1 END, CASE WHEN i % 100 = 0 THEN 503 ELSE 200 END,
    CASE WHEN i % 100 = 0 THEN 'the receiver answered 503' END, $now - ($N - i) * 1000, $now - ($N - i) * 1000,
    CASE WHEN i % 100 = 0 THEN NULL ELSE $now - ($N - i) * 1000 END
FROM n;
SQL
else
  psql -q "$DATABASE" <<SQL
INSERT INTO webhook_delivery (uuid, webhook_uuid, cluster_uuid, service_uuid, payload, status, attempts, last_code,
    last_error, created, updated, delivered)
SELECT 'bd' || lpad(i::text, 7, '0'), 'bench-hook', 'c1', 's' || lpad(i::text, 7, '0'), '{"status":4}',
    CASE WHEN i % 10000 = 5 THEN 'skipped' WHEN i % 100 = 0 THEN 'failed' ELSE 'delivered' END,
    CASE WHEN i % 100 = 0 THEN 8 ELSE 1 END, CASE WHEN i % 100 = 0 THEN 503 ELSE 200 END,
    CASE WHEN i % 100 = 0 THEN 'the receiver answered 503' END, $now - ($N - i) * 1000, $now - ($N - i) * 1000,
    CASE WHEN i % 100 = 0 THEN NULL ELSE $now - ($N - i) * 1000 END
FROM generate_series(1, $N) AS i;
ANALYZE webhook_delivery;
SQL
fi
start
# The sign-in form carries a CSRF token in a cookie and a hidden field: read both first.
login_csrf=$(curl -fs -c "$work/jar" "$url/ui/login" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
curl -fs -b "$work/jar" -c "$work/jar" -o /dev/null --data-urlencode "key=$key" --data-urlencode "_csrf=$login_csrf" \
    "$url/ui/login"

measure() {
  local times=()
  for _ in 1 2 3 4 5; do
    times+=("$(curl -fs -b "$work/jar" -o /dev/null -w '%{time_total}' "$url$1")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk -v p="$1" '{ printf "%-52s %7.1f ms\n", p, $1 * 1000 }'
}
echo "$(basename "$BIN") $("$BIN" --version 2>/dev/null || true), $DATABASE, $N deliveries, load: $(cut -d' ' -f1-3 /proc/loadavg)"
last=$(( (N + 49) / 50 ))
for path in /ui/webhooks /ui/webhooks/bench-hook "/ui/webhooks/bench-hook?page=2" "/ui/webhooks/bench-hook?page=$last" \
  "/ui/webhooks/bench-hook?status=failed" "/ui/webhooks/bench-hook?status=skipped" \
  "/ui/webhooks/bench-hook?status=pending" /ui/apikeys; do
  measure "$path"
done
