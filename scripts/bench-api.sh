#!/usr/bin/env bash
# Operator API throughput with wrk against a release claiflow server on loopback.
#
#   scripts/bench-api.sh [--no-sqlite] [--postgres postgres://USER@HOST:PORT/DBNAME]
#                        [--duration 8s] [--threads 2] [--connections 16]
#                        [--binary PATH] [--no-build] [--keep DIR]
#
# For each store (a fresh SQLite file; with --postgres also a fresh PostgreSQL database DBNAME,
# dropped and created again, so point it at a benchmark server with fsync on), it starts
# `claiflow server` on a free loopback port, creates an admin key with `claiflow admin
# create-key`, and runs `wrk -t2 -c16 -d8s` for:
#   healthz         GET /healthz (the HTTP ceiling: no auth, no database)
#   filtered list   GET /api/v1/cluster?q={"like":{"name":"list-1%"}}&p={"limit":20}
#                   on 5,000 clusters named list-0…list-4999 (seeded first with curl --parallel)
#   create cluster  POST /api/v1/cluster, a unique name per request, uuid assigned by the server
#   create service  POST /api/v1/cluster/{uuid}/service from the default template
#                   00000000000000000000000000000001 on 100 clusters in turn
# and prints one table: store, operation, requests/s, p50 and p99 latency (ms), and the number of
# non-2xx answers plus socket errors (any non-zero count is a failed run). The server is stopped
# on exit. Environment equivalents: CLAIFLOW_BENCH_DURATION, CLAIFLOW_BENCH_POSTGRES,
# CLAIFLOW_BENCH_THREADS, CLAIFLOW_BENCH_CONNECTIONS, CLAIFLOW_BIN.
set -euo pipefail

duration=${CLAIFLOW_BENCH_DURATION:-8s}
threads=${CLAIFLOW_BENCH_THREADS:-2}
connections=${CLAIFLOW_BENCH_CONNECTIONS:-16}
postgres=${CLAIFLOW_BENCH_POSTGRES:-}
binary=${CLAIFLOW_BIN:-}
build=1
sqlite=1
keep=
operations="healthz list create-cluster create-service"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --postgres) postgres=$2; shift 2 ;;
        --no-sqlite) sqlite=; shift ;;
        --duration) duration=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --binary) binary=$2; build=; shift 2 ;;
        --no-build) build=; shift ;;
        --only) operations=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
command -v wrk > /dev/null || { echo "wrk is required (Debian: apt-get install wrk)" >&2; exit 2; }
command -v curl > /dev/null || { echo "curl is required" >&2; exit 2; }

cd "$(dirname "$0")/.."
if [ -z "$binary" ]; then
    if [ -n "$build" ]; then
        swift build -c release --product claiflow >&2
    fi
    binary="$(swift build -c release --show-bin-path)/claiflow"
fi
[ -x "$binary" ] || { echo "no claiflow binary at $binary (build it or pass --binary)" >&2; exit 2; }

work=${keep:-$(mktemp -d /tmp/claiflow-bench-api.XXXXXX)}
mkdir -p "$work"
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2> /dev/null || true
        for _ in $(seq 100); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2> /dev/null || true
        wait "$server_pid" 2> /dev/null || true
        server_pid=
    fi
}
cleanup() {
    stop_server
    [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A wrk script that prints one RESULT line: requests/s, p50 ms, p99 ms, non-2xx + socket errors.
# `prelude` defines request() (or sets wrk.method/path/body in init); response() counts non-2xx.
common_lua='
local threads = {}
local next_id = 0
function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end
bad = 0
-- wrk.format replaces wrk.headers (the -H Authorization) when given headers: start from them.
function json_headers()
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    h["Content-Type"] = "application/json"
    return h
end
function response(status, headers, body)
    if status < 200 or status > 299 then
        bad = bad + 1
        if bad <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. body .. "\n") end
    end
end
function done(summary, latency, requests)
    local total_bad = 0
    for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
    local e = summary.errors
    local socket_errors = e.connect + e.read + e.write + e.timeout
    io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        total_bad + socket_errors, summary.requests))
end
'

write_lua() { # name body
    printf '%s\n%s\n' "$common_lua" "$2" > "$work/$1.lua"
}
write_lua healthz 'wrk.method = "GET"; wrk.path = "/healthz"'
write_lua list '
wrk.method = "GET"
wrk.path = "/api/v1/cluster?q=%7B%22like%22%3A%7B%22name%22%3A%22list-1%25%22%7D%7D&p=%7B%22limit%22%3A20%7D"'
write_lua create-cluster '
local n = 0
function request()
    n = n + 1
    return wrk.format("POST", "/api/v1/cluster", json_headers(),
        string.format("{\"name\":\"bench-%d-%d\",\"summary\":\"benchmark cluster\"}", id, n))
end'
write_lua create-service '
local n = 0
local body = "{\"template_uuid\":\"00000000000000000000000000000001\",\"inputs\":{\"namespace\":\"default\",\"name\":\"web-0\"}}"
function request()
    n = n + 1
    return wrk.format("POST", string.format("/api/v1/cluster/svc-%d/service", (n * 7 + id * 13) % 100),
        json_headers(), body)
end'
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# seed BODY COUNT: POST /api/v1/cluster COUNT times with BODY, each @ in it replaced by N (0…),
# 16 at a time over reused connections (curl --parallel); fails on any non-2xx answer.
seed() {
    local i body
    for ((i = 0; i < $2; i++)); do
        body=${1//@/$i}
        # Options after `next` apply to the next transfer only: each block repeats them.
        [ "$i" = 0 ] || echo next
        printf 'url = "%s/api/v1/cluster"\nheader = "Authorization: Bearer %s"\n' "$base" "$key"
        printf 'header = "Content-Type: application/json"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
        printf 'data = "%s"\n' "${body//\"/\\\"}"
    done > "$work/seed.curl"
    local codes
    codes=$(curl -sS --no-progress-meter --parallel --parallel-max "$connections" -K "$work/seed.curl")
    if grep -qv '^2' <<< "$codes"; then
        echo "seeding failed: $(grep -v '^2' <<< "$codes" | sort | uniq -c | tr '\n' ' ')" >&2
        exit 1
    fi
    [ "$(grep -c '^2' <<< "$codes")" = "$2" ] || { echo "seeding failed: $(wc -l <<< "$codes") answers, not $2" >&2; exit 1; }
}

# run_wrk LUA THREADS CONNECTIONS DURATION → "req/s p50 p99 bad total"
run_wrk() {
    local out
    out=$(wrk -t"$2" -c"$3" -d"$4" --timeout 10s -H "Authorization: Bearer $key" -s "$work/$1.lua" "$base" 2> "$work/$1.stderr") || {
        echo "wrk failed for $1: $(cat "$work/$1.stderr")" >&2
        return 1
    }
    grep '^RESULT ' <<< "$out" | cut -d' ' -f2- || { echo "no result from wrk for $1: $out" >&2; return 1; }
}

# check_exists NAME: a cluster of that name was seeded.
check_exists() {
    local q="%7B%22eq%22%3A%7B%22name%22%3A%22$1%22%7D%7D"
    curl -fsS -H "Authorization: Bearer $key" "$base/api/v1/cluster?q=$q" | grep -q "\"name\":\"$1\"" || {
        echo "seeding failed: no cluster named $1" >&2
        exit 1
    }
}

results=()
bench_store() { # label database-url
    local label=$1 database=$2
    key=$("$binary" admin create-key --database "$database" --name bench 2> "$work/create-key-$label.log") || {
        cat "$work/create-key-$label.log" >&2
        exit 1
    }
    local port
    port=$(free_port)
    base="http://127.0.0.1:$port"
    "$binary" server --host 127.0.0.1 --port "$port" --grpc-port off --database "$database" \
        --log-level error > "$work/server-$label.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 300); do
        curl -fsS -o /dev/null "$base/healthz" 2> /dev/null && break
        kill -0 "$server_pid" 2> /dev/null || { echo "server exited:" >&2; cat "$work/server-$label.log" >&2; exit 1; }
        sleep 0.1
    done
    curl -fsS -o /dev/null "$base/healthz" || { echo "server did not answer on $base" >&2; exit 1; }

    local op r seeded=
    for op in $operations; do
        case $op in
            list)
                seed '{"name":"list-@"}' 5000
                check_exists list-0 && check_exists list-4999
                ;;
            create-service)
                seed '{"uuid":"svc-@","name":"svc-@"}' 100
                check_exists svc-0 && check_exists svc-99
                ;;
        esac
        # PostgreSQL plans with the table's statistics, which autovacuum gathers only about a
        # minute after the seeding: without them the list reads all 1,111 matches through the name
        # index and sorts them (0.63 ms per query instead of 0.06 ms). Gather them now, as a
        # table of that size in service would have them.
        case $label:$op in postgres:list | postgres:create-service) psql -q "$database" -c ANALYZE > /dev/null ;; esac
        r=$(run_wrk "$op" "$threads" "$connections" "$duration")
        results+=("$label $op $r")
        echo "$label $op: $r" >&2
    done
    stop_server
}

if [ -n "$sqlite" ]; then
    rm -f "$work"/bench.sqlite*
    bench_store sqlite "sqlite:$work/bench.sqlite"
fi
if [ -n "$postgres" ]; then
    command -v psql > /dev/null || { echo "psql is required for --postgres" >&2; exit 2; }
    dbname=${postgres##*/}
    dbname=${dbname%%\?*}
    [[ $dbname =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "--postgres needs a database name (letters, digits, _), got '$dbname'" >&2; exit 2; }
    admin_url="${postgres%/*}/postgres"
    psql -q -v ON_ERROR_STOP=1 "$admin_url" -c "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname" > /dev/null
    fsync=$(psql -qtA "$admin_url" -c "SHOW fsync")
    echo "postgresql $dbname: fsync = $fsync" >&2
    bench_store postgres "$postgres"
fi

echo
echo "wrk -t$threads -c$connections -d$duration, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
printf '| %-8s | %-15s | %10s | %7s | %7s | %7s |\n' store operation requests/s "p50 ms" "p99 ms" non-2xx
printf '|%s|%s|%s|%s|%s|%s|\n' ---------- ----------------- ------------ --------- --------- ---------
for line in "${results[@]}"; do
    read -r label op rate p50 p99 bad _ <<< "$line"
    printf '| %-8s | %-15s | %10s | %7s | %7s | %7s |\n' "$label" "$op" "$rate" "$p50" "$p99" "$bad"
done
