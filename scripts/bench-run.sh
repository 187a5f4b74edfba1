#!/usr/bin/env bash
# Times issue 14's scale goal for fleet runs: a run over 1,000 clusters with max_parallel 200
# created in one request, and GET /api/v1/run/{uuid} for it. Starts a server on the given
# database (default: a fresh SQLite file), creates 1,000 labelled clusters, then three runs
# over all of them, each read three times. Prints curl's total times.
#
#   scripts/bench-run.sh [BINARY] [DATABASE_URL]
#   scripts/bench-run.sh .build/release/claiflow postgres://postgres@127.0.0.1:55433/bench_runs
set -euo pipefail
BIN=${1:-.build/release/claiflow}
DIR=$(mktemp -d)
DB=${2:-sqlite:$DIR/db.sqlite}
PORT=${PORT:-18777}
TOKEN=bench-run-admin-token-0123456789abcdef
"$BIN" server --host 127.0.0.1 --port "$PORT" --database "$DB" --admin-token "$TOKEN" >"$DIR/log" 2>&1 &
PID=$!
trap 'kill $PID; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
H="Authorization: Bearer $TOKEN"
for i in $(seq 1 1000); do
  curl -s -o /dev/null -H "$H" -H 'Content-Type: application/json' \
    -d "{\"uuid\":\"c$i\",\"name\":\"cluster-$i\",\"labels\":{\"fleet\":\"a\",\"region\":\"r$((i % 4))\"}}" \
    "http://127.0.0.1:$PORT/api/v1/cluster"
done
RUN_ID=$(date +%s)
for n in 1 2 3; do
  curl -s -o /dev/null -w "create run (1000 clusters, max_parallel 200): %{time_total}s http %{http_code}\n" \
    -H "$H" -H 'Content-Type: application/json' \
    -d "{\"uuid\":\"r$RUN_ID$n\",\"name\":\"scale\",\"flow\":[{\"\$id\":\"s0\",\"\$command\":\"claiflow.echo\"}],\"selector\":\"fleet=a\",\"inputs\":{\"r\":\"\$cluster.labels.region\"},\"strategy\":{\"max_parallel\":200}}" \
    "http://127.0.0.1:$PORT/api/v1/run"
  for _ in 1 2 3; do
    curl -s -o /dev/null -w "GET run: %{time_total}s (%{size_download} bytes)\n" -H "$H" \
      "http://127.0.0.1:$PORT/api/v1/run/r$RUN_ID$n"
  done
done
