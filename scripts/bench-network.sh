#!/usr/bin/env bash
# Runs the 4-validator network (release build) for a fixed time and writes mean block time, mean
# finality lag and each node's peak RSS to bench-results/network.txt.
#   scripts/bench-network.sh [SECONDS]     (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
SECONDS_TO_RUN="${1:-120}"
mkdir -p bench-results
cargo build --release --locked -p medledger-node
cargo build --release --locked -p medledger-test-harness --example bench_network
"$CARGO_TARGET_DIR/release/examples/bench_network" \
    "$CARGO_TARGET_DIR/release/medledger-node" "$SECONDS_TO_RUN" bench-results/network.txt
