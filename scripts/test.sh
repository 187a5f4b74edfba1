#!/usr/bin/env bash
# The project's test command: starts a throwaway PostgreSQL on loopback (when the PostgreSQL
# server binaries are installed and CLAIFLOW_TEST_POSTGRES_URL is not already set), so the store
# contract suite runs against SQLite and PostgreSQL, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CLAIFLOW_TEST_POSTGRES_URL:-}" ]; then
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    eval "$(bash scripts/start-postgres.sh)"
  else
    echo "test.sh: PostgreSQL is not installed; the PostgreSQL half of the store suite will not run" >&2
  fi
fi
export CLAIFLOW_TEST_POSTGRES_URL="${CLAIFLOW_TEST_POSTGRES_URL:-}"
# The end-to-end tests start the `claiflow` binary itself: build it first.
swift build
if [ $# -gt 0 ]; then
  exec swift test "$@"
fi
# The chaos and kill-under-load tests (real server and agent binaries, kill -9 under load) run on their own after the
# rest, so that their load does not stretch the timing bounds of the other tests.
swift test --skip "ChaosTests|KillUnderWriteLoadTests"
swift test --filter "ChaosTests|KillUnderWriteLoadTests"
# The web console in a real Chromium (skipped with a message when chromium or selenium are
# missing, unless CLAIFLOW_REQUIRE_BROWSER=1).
bash scripts/browser-tests.sh
