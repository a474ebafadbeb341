#!/usr/bin/env bash
# Load benchmark of the 4-hospital network (validators Alice, Bob, Charlie, Dave of `--chain local`
# on 127.0.0.1, free ports, temporary base paths): three phases of pre-signed transactions from
# many fresh accounts, submitted to one node with author_submitAndWatchExtrinsic — transfers,
# tokenless patients' consent grants, purchases — and an account of every accepted transaction
# (finalized, reported dropped/invalid, or silently lost). Writes bench-results/load.txt and
# bench-results/load.json (see bench/load/load.mjs for every option).
#
#   scripts/bench-load.sh                         200 accounts x 20 per phase (release build)
#   scripts/bench-load.sh --senders 50 --transfers 4 --patients 50 --grants 4 --buyers 50 --buys 4
#   scripts/bench-load.sh --node-arg=--pool-type=single-state    a node flag, on every node
#   MEDLEDGER_NODE=/path/to/medledger-node scripts/bench-load.sh   a given binary, no build
#
# The whole run is bounded (MEDLEDGER_BENCH_TIMEOUT seconds, 900 by default); every node it
# starts is killed at the end, on Ctrl-C and on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"

NODE="${MEDLEDGER_NODE:-}"
if [[ -z "$NODE" ]]; then
    cargo build --release --locked -p medledger-node
    NODE="$CARGO_TARGET_DIR/release/medledger-node"
fi
if [[ ! -d bench/load/node_modules ]]; then
    (cd bench/load && npm ci --no-audit --no-fund)
fi
mkdir -p bench-results
# SIGTERM first (the driver kills its nodes on it), SIGKILL 20 s later if it is still there.
exec timeout --kill-after=20 "${MEDLEDGER_BENCH_TIMEOUT:-900}" \
    node bench/load/load.mjs --node "$NODE" --out bench-results/load "$@"
