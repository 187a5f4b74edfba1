#!/usr/bin/env bash
# Browser tests of the web console: real Chromium through WebDriver (Selenium, from PyPI, in a
# venv under .build) against a real `claiflow server` (SQLite in a scratch folder) and real
# `claiflow agent` processes. Tests/browser/console_test.py holds the tests.
#
#   bash scripts/browser-tests.sh                      # run the tests
#   SCREENSHOTS=docs/images bash scripts/browser-tests.sh   # and save screenshots of the main pages
#
# Needs Debian's `chromium` and `chromium-driver` and python3-venv. Without them the tests are
# skipped with a message, unless CLAIFLOW_REQUIRE_BROWSER=1 (CI), which makes that a failure.
#
# Environment:
#   CLAIFLOW_BIN      the claiflow binary (default .build/debug/claiflow)
#   SELENIUM_PYTHON   a python with selenium (default: a venv at .build/browser-venv, made here)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BIN=${CLAIFLOW_BIN:-$root/.build/debug/claiflow}
SELENIUM_VERSION=4.27.1

skip() {
  if [ "${CLAIFLOW_REQUIRE_BROWSER:-}" = 1 ]; then
    echo "browser-tests.sh: $1 (required: CLAIFLOW_REQUIRE_BROWSER=1)" >&2
    exit 1
  fi
  echo "browser-tests.sh: skipped: $1"
  exit 0
}
command -v chromium >/dev/null || skip "chromium is not installed (apt-get install chromium chromium-driver)"
command -v chromedriver >/dev/null || skip "chromedriver is not installed (apt-get install chromium-driver)"
[ -x "$BIN" ] || { echo "browser-tests.sh: $BIN is missing: run swift build first" >&2; exit 1; }
PY=${SELENIUM_PYTHON:-}
if [ -z "$PY" ]; then
  venv="$root/.build/browser-venv"
  if ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    python3 -m venv "$venv" 2>/dev/null || skip "python3 -m venv does not work (apt-get install python3-venv)"
    "$venv/bin/pip" install -q "selenium==$SELENIUM_VERSION" || skip "pip install selenium failed"
  fi
  PY="$venv/bin/python"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="browser-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# Fast webhook retries: a delivery to a closed port ends `failed` within seconds (the redeliver test).
"$BIN" server --host 127.0.0.1 --port "$port" --grpc-port off --database "sqlite:$work/claiflow.sqlite" \
  --admin-token "$key" --log-level warning \
  --webhook-retry-initial 20ms \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "browser-tests.sh: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
if [ -n "${SCREENSHOTS:-}" ]; then mkdir -p "$SCREENSHOTS"; SCREENSHOTS=$(cd "$SCREENSHOTS" && pwd); export SCREENSHOTS; fi
status=0
CLAIFLOW_URL="http://127.0.0.1:$port" CLAIFLOW_KEY="$key" CLAIFLOW_BIN="$BIN" CLAIFLOW_WORK="$work" \
  "$PY" "$root/Tests/browser/console_test.py" || status=$?
if [ "$status" != 0 ]; then
  echo "browser-tests.sh: failed; the server's log:" >&2
  tail -n 50 "$work/server.log" >&2
  for f in "$work"/agent-*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  mkdir -p "$root/.build/browser-failures" && cp "$work"/failure-*.png "$root/.build/browser-failures/" 2>/dev/null || true
fi
exit "$status"
