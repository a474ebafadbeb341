#!/usr/bin/env bash
# Generates a synthetic FHIR R4 Bulk Data corpus (NDJSON per type + owners.csv).
# Usage: scripts/gen-fhir-corpus.sh <out-dir> <megabytes> [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
export SKIP_WASM_BUILD=1
[ $# -ge 2 ] || { echo "usage: $0 <out-dir> <megabytes> [seed]" >&2; exit 2; }
cargo build --release -q -p medledger-fhir --example fhir_tool
"$CARGO_TARGET_DIR/release/examples/fhir_tool" generate "$1" "$2" "${3:-7}"
