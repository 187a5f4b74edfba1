#!/usr/bin/env bash
# Generates the operator API client (Sources/ClaiflowAPIClient/Generated/) from the OpenAPI
# document the server serves (Sources/ClaiflowServer/Resources/openapi.yaml), with
# swift-openapi-generator built once in a scratch package under .build/ (not the build plugin:
# that would compile the generator in every build). Run it after every change to openapi.yaml
# and commit the result; a test fails while the recorded hash differs from the document's.
set -euo pipefail
cd "$(dirname "$0")/.."

GENERATOR_VERSION=1.14.3
DOCUMENT=Sources/ClaiflowServer/Resources/openapi.yaml
CONFIG=Sources/ClaiflowAPIClient/openapi-generator-config.yaml
OUTPUT=Sources/ClaiflowAPIClient/Generated
TOOL=.build/openapi-generator-tool

mkdir -p "$TOOL/Sources/placeholder"
cat > "$TOOL/Package.swift" <<SWIFT
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "openapi-generator-tool",
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "$GENERATOR_VERSION")
    ],
    targets: [.target(name: "placeholder", path: "Sources/placeholder")]
)
SWIFT
echo "// The scratch package only builds swift-openapi-generator." > "$TOOL/Sources/placeholder/placeholder.swift"

swift build --package-path "$TOOL" -c release --product swift-openapi-generator >&2
GENERATOR="$(swift build --package-path "$TOOL" -c release --show-bin-path)/swift-openapi-generator"

mkdir -p "$OUTPUT"
rm -f "$OUTPUT"/*.swift
"$GENERATOR" generate "$DOCUMENT" --config "$CONFIG" --output-directory "$OUTPUT" >&2
# Generated code keeps the generator's layout: the project's formatter leaves it alone. Its
# `public import`s become plain imports (public as well in Swift 6 mode): the generator writes the
# same imports into each of its files and Swift 6.3 warns about those a file does not use (the
# generator's `@diagnose(UnusedImportAccess, as: ignored)` only takes effect from Swift 6.4), and
# CI fails on any warning in Sources/.
for f in "$OUTPUT"/*.swift; do
  { echo "// swift-format-ignore-file"; sed -E 's/^(@_spi\(Generated\) )?public import /\1import /' "$f"; } > "$f.tmp"
  mv "$f.tmp" "$f"
done
HASH=$(sha256sum "$DOCUMENT" | cut -d' ' -f1)
printf '%s\n' "$HASH" > "$OUTPUT/openapi.yaml.sha256"
echo "generated $OUTPUT from $DOCUMENT (sha256 $HASH) with swift-openapi-generator $GENERATOR_VERSION" >&2
