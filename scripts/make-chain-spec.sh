#!/usr/bin/env bash
# Regenerates the checked-in chain specs in chain-spec/ from the runtime's genesis presets, or
# writes a consortium's own spec from a list of hospitals.
#
#   scripts/make-chain-spec.sh                       chain-spec/local.json and local-raw.json
#   scripts/make-chain-spec.sh hospitals.json OUT    OUT.json and OUT-raw.json for a consortium
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
NODE="${MEDLEDGER_NODE:-}"
if [[ -z "$NODE" ]]; then
    cargo build --locked -p medledger-node
    NODE="$CARGO_TARGET_DIR/debug/medledger-node"
fi

if [[ $# -eq 0 ]]; then
    "$NODE" export-chain-spec --chain local --output chain-spec/local.json
    "$NODE" export-chain-spec --chain local --raw --output chain-spec/local-raw.json
elif [[ $# -eq 2 ]]; then
    "$NODE" consortium-spec --hospitals "$1" --output "$2.json"
    "$NODE" consortium-spec --hospitals "$1" --raw --output "$2-raw.json"
    echo "wrote $2.json (review it) and $2-raw.json (start nodes with --chain $2-raw.json)"
else
    echo "usage: $0 [hospitals.json OUTPUT_PREFIX]" >&2
    exit 2
fi
