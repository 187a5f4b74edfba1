#!/usr/bin/env bash
# Regenerates the Swift code of the agent gRPC API (Sources/ClaiflowGRPC/*.pb.swift, *.grpc.swift)
# from Protos/ with the real generators. The normal build never runs this: the generated files are
# committed. See docs/grpc.md.
#
#   scripts/generate-grpc.sh            # build the pinned plugins in a temp dir, run protoc, write
#   GRPC_GEN_WORK=/tmp/grpcgen scripts/generate-grpc.sh   # reuse/keep the plugin builds there
#
# Needs: swift, git, protoc (installed from Debian's protobuf-compiler if missing).
set -euo pipefail

SWIFT_PROTOBUF_VERSION="${SWIFT_PROTOBUF_VERSION:-1.39.0}"           # -> protoc-gen-swift
GRPC_SWIFT_PROTOBUF_VERSION="${GRPC_SWIFT_PROTOBUF_VERSION:-2.4.1}"  # -> protoc-gen-grpc-swift-2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_DIR="$ROOT/Protos"
OUT_DIR="$ROOT/Sources/ClaiflowGRPC"
PROTOS=(
  pkg/server/api/datatype/nullable.proto
  pkg/server/api/client/client.proto
)

log() { printf '[generate-grpc] %s\n' "$*" >&2; }

# --- protoc -------------------------------------------------------------------------------------
if ! command -v protoc >/dev/null 2>&1 || [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
  log "installing protoc (Debian protobuf-compiler + libprotobuf-dev for the well-known types)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler libprotobuf-dev >/dev/null
fi
log "using $(protoc --version)"
WKT_INCLUDE=/usr/include
[ -f "$WKT_INCLUDE/google/protobuf/timestamp.proto" ] || { log "google/protobuf/*.proto not found in $WKT_INCLUDE"; exit 1; }

# --- plugins (built in a scratch folder, never inside the repo) ----------------------------------
if [ -n "${GRPC_GEN_WORK:-}" ]; then
  WORK="$GRPC_GEN_WORK"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d /tmp/claiflow-grpc-gen.XXXXXX)"
  trap 'rm -rf "$WORK"' EXIT
fi

build_plugin() { # repo-url tag dir product
  local url="$1" tag="$2" dir="$3" product="$4"
  if [ ! -d "$WORK/$dir/.git" ]; then
    log "cloning $url @ $tag"
    git -c advice.detachedHead=false clone -q --depth 1 --branch "$tag" "$url" "$WORK/$dir" 2>/dev/null \
      || git -c advice.detachedHead=false clone -q --branch "$tag" "$url" "$WORK/$dir"
  fi
  local have
  have="$(git -C "$WORK/$dir" describe --tags --exact-match 2>/dev/null || true)"
  [ "$have" = "$tag" ] || { log "$WORK/$dir is at '$have', expected $tag (remove it)"; exit 1; }
  log "building $product (release; takes a few minutes)"
  (cd "$WORK/$dir" && swift build -c release --product "$product" >&2)
}

build_plugin https://github.com/apple/swift-protobuf.git "$SWIFT_PROTOBUF_VERSION" swift-protobuf protoc-gen-swift
build_plugin https://github.com/grpc/grpc-swift-protobuf.git "$GRPC_SWIFT_PROTOBUF_VERSION" grpc-swift-protobuf protoc-gen-grpc-swift-2

PROTOC_GEN_SWIFT="$(cd "$WORK/swift-protobuf" && swift build -c release --show-bin-path)/protoc-gen-swift"
PROTOC_GEN_GRPC="$(cd "$WORK/grpc-swift-protobuf" && swift build -c release --show-bin-path)/protoc-gen-grpc-swift-2"

# --- generate -----------------------------------------------------------------------------------
GEN="$WORK/out"
rm -rf "$GEN" && mkdir -p "$GEN"
log "running protoc"
(
  cd "$PROTO_DIR"
  protoc -I . -I "$WKT_INCLUDE" \
    --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" \
    --swift_out="$GEN" \
    --swift_opt=Visibility=Public,FileNaming=DropPath \
    --plugin=protoc-gen-grpc-swift-2="$PROTOC_GEN_GRPC" \
    --grpc-swift-2_out="$GEN" \
    --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=DropPath \
    "${PROTOS[@]}"
)

# protoc-gen-grpc-swift-2 emits a stub for every proto file; drop those for files without a service.
grep -l 'This file contained no services' "$GEN"/*.grpc.swift 2>/dev/null | xargs -r rm -f

# Replace only the generated files; anything hand-written in Sources/ClaiflowGRPC stays.
mkdir -p "$OUT_DIR"
find "$OUT_DIR" -maxdepth 1 -type f \( -name '*.pb.swift' -o -name '*.grpc.swift' \) -delete
cp "$GEN"/*.swift "$OUT_DIR"/
# Generated code keeps the generator's layout: swift format skips these files.
for f in "$OUT_DIR"/*.pb.swift "$OUT_DIR"/*.grpc.swift; do
  sed -i '1i // swift-format-ignore-file' "$f"
done
log "wrote: $(cd "$OUT_DIR" && ls *.pb.swift *.grpc.swift | tr '\n' ' ')"
