#!/usr/bin/env bash
# Measures the runtime's database weights (issue 17): how long one storage read and one storage
# write take in a validator's RocksDB, and writes runtime/src/weights/rocksdb_weights.rs, which
# the runtime uses as `DbWeight` (every pallet weight adds its reads and writes at these prices).
#
#   scripts/bench-storage.sh              grows a state with the load benchmark, then measures it
#   scripts/bench-storage.sh BASE_PATH    measures the database of a kept node (Alice's base path
#                                         of `scripts/bench-load.sh --keep-chains`). The benchmark
#                                         writes to that database (and takes back what it wrote):
#                                         give it a stopped node's copy, never a live validator's.
#
# The measurement runs `medledger-node benchmark-storage` (frame-benchmarking-cli's storage
# benchmark), which only a build with the `storage-benchmark` feature has: it needs FRAME's
# benchmarking build of sp-runtime, so that binary is kept beside the node as
# medledger-node-storage-benchmark, for benchmarks only. Every key of the state at the best
# block is read once and written once (in batches, with the storage root computed and committed
# as a block import does), in a random order, with the trie cache off. Run it on an idle machine
# (`uptime`): the weights are the times measured here, on the state measured here, so measure
# again when the chain's state has grown.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"

bench_node=$CARGO_TARGET_DIR/release/medledger-node-storage-benchmark
echo "== building medledger-node with the storage benchmark (release)"
# The CLI's test runtime is only for measuring a parachain's block validation, not done here; its
# wasm cannot be built from inside this workspace.
SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1 \
    cargo build --release --locked -p medledger-node --features storage-benchmark
cp "$CARGO_TARGET_DIR/release/medledger-node" "$bench_node"

base_path=${1:-}
if [[ -z "$base_path" ]]; then
    echo "== growing a state: the load benchmark, chains kept"
    work=$(mktemp -d)
    chains=
    trap 'rm -rf "$work" ${chains:+"$chains"}' EXIT
    MEDLEDGER_NODE=$bench_node scripts/bench-load.sh --keep-chains --out "$work/load" 2>&1 | tee "$work/log"
    chains=$(sed -n 's/.*chains kept in //p' "$work/log" | tail -1)
    [[ -n "$chains" && -d "$chains/alice" ]] || { echo "no kept chain found in the load run's output" >&2; exit 1; }
    base_path=$chains/alice
fi

echo "== measuring reads and writes in $base_path"
# Writes are committed 100 keys at a time, a block of a few dozen transactions: per key, larger
# batches cost less (the storage root's upper nodes are shared), so this prices a full block's
# writes on the high side.
"$bench_node" benchmark-storage --chain local --base-path "$base_path" \
    --state-version 1 --batch-size 100 --weight-path runtime/src/weights/
echo "== rebuilding the production node (the benchmark build replaced target/release/medledger-node)"
cargo build --release --locked -p medledger-node
echo "runtime/src/weights/rocksdb_weights.rs written; regenerate the metadata and chain specs (README, Benchmarks) and run scripts/test.sh"
