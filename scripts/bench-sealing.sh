#!/usr/bin/env bash
# Sealing/opening throughput with a SoftHSM2 token vs plain age X25519 (issue 7).
# Usage: scripts/bench-sealing.sh [SIZE_MIB] [REPORT]   (defaults: 1024, target/bench-sealing.txt)
# Needs SoftHSM2 (scripts/setup.sh) and about 4 × SIZE_MIB of free disk in $BENCH_DIR (default: /tmp).
# Each of $BENCH_ROUNDS rounds (default 5) times seal, age encrypt, open, age decrypt back to
# back on the same payload; the best time of each is reported. Run it on an idle machine
# (`uptime`): on 2 cores, other work shows up directly in the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
report=${2:-${CARGO_TARGET_DIR:-target}/bench-sealing.txt}
export SKIP_WASM_BUILD=1
export BENCH_DIR=${BENCH_DIR:-/tmp}
cargo run --release -q -p medledger-sealing --features testing --example bench_sealing -- "$size_mib" "$report"
echo "figures written to $report"
