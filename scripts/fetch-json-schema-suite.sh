#!/usr/bin/env bash
# Fetches the official JSON-Schema-Test-Suite at the pinned commit into .build/json-schema-test-suite,
# where the conformance tests (Tests/ClaiflowSchemaTests/ConformanceTests.swift) find it.
# Needs internet access to GitHub. CI does not use this: it reads the copy in ../shared/conformance.
#   bash scripts/fetch-json-schema-suite.sh && bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COMMIT=44401e0c046704b476ec9d2e2fccdaee618f259d   # the commit the conformance figures were measured on
DEST=.build/json-schema-test-suite
if [ -f "$DEST/SOURCE.txt" ] && grep -q "$COMMIT" "$DEST/SOURCE.txt"; then
  echo "fetch-json-schema-suite: $DEST is already at $COMMIT"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tmp" init -q
git -C "$tmp" remote add origin https://github.com/json-schema-org/JSON-Schema-Test-Suite.git
git -C "$tmp" fetch -q --depth 1 origin "$COMMIT"
git -C "$tmp" checkout -q FETCH_HEAD
rm -rf "$DEST"
mkdir -p "$DEST"
cp -R "$tmp/tests" "$tmp/remotes" "$tmp/LICENSE" "$DEST/"
echo "json-schema-org/JSON-Schema-Test-Suite at $COMMIT (MIT, see LICENSE)" > "$DEST/SOURCE.txt"
echo "fetch-json-schema-suite: the suite is in $DEST"
