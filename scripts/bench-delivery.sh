#!/usr/bin/env bash
# Delivery benchmark on the release build: a hospital of PATIENTS synthetic patients (default
# 10 000) sells one dataset on the 4-validator network; writes the time from the order's
# finalization to its receipt's finalization and the delivery throughput to
# bench-results/delivery.txt.
#   scripts/bench-delivery.sh [PATIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
PATIENTS="${1:-10000}"
mkdir -p bench-results
cargo build --release --locked -p medledger-node --bin medledger-node --example bench_delivery
"$CARGO_TARGET_DIR/release/examples/bench_delivery" \
    "$CARGO_TARGET_DIR/release/medledger-node" "$PATIENTS" bench-results/delivery.txt
