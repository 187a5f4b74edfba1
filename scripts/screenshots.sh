#!/usr/bin/env bash
# Takes the console screenshots shown in the README (docs/images/console-*.png): runs the
# browser tests with SCREENSHOTS set. Needs what scripts/browser-tests.sh needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
SCREENSHOTS="$root/docs/images" CLAIFLOW_REQUIRE_BROWSER=1 bash "$root/scripts/browser-tests.sh"
