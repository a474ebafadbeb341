#!/usr/bin/env bash
# Measures the runtime's weights and regenerates the weight files (issue 17):
#   pallets/<pallet>/src/weights.rs   the seven MedLedger pallets (template scripts/weight-template.hbs)
#   runtime/src/weights/<pallet>.rs   the FRAME pallets the runtime benchmarks (the CLI's template)
#   runtime/src/weights/{block,extrinsic}_weights.rs   `overhead`: the cost of an empty block and of
#                                     an extrinsic that does nothing (`System::remark`), which every
#                                     block and transaction pays before its calls' own weight
# Usage: scripts/bench-weights.sh [PALLET|overhead...]   (default: all; e.g. `scripts/bench-weights.sh pallet_escrow`)
# The database's prices (`DbWeight`) are measured by scripts/bench-storage.sh.
#
# It builds the runtime's wasm with the `runtime-benchmarks` feature on the release profile and
# runs every benchmark in it with `frame-omni-bencher` (installed on first use, about an hour on
# 2 cores), on the development genesis. STEPS and REPEAT (defaults 50 and 20) trade time for
# precision. Run it on an idle machine (`uptime`): the weights are the times measured here.
#
# The benchmark build uses its own target directory (BENCH_TARGET_DIR): the wasm builder writes
# the runtime's wasm to one file per profile, and a benchmarking wasm there would end up in the
# next release node.
set -euo pipefail
cd "$(dirname "$0")/.."

omni_version=0.28.0 # polkadot-sdk stable2609, as the workspace's crates
tools=${MEDLEDGER_TOOLS:-$HOME/.cache/medledger/tools}
node_target=${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}
export CARGO_TARGET_DIR=${BENCH_TARGET_DIR:-$HOME/.cache/medledger/bench-target}
steps=${STEPS:-50}
repeat=${REPEAT:-20}

bencher=$tools/bin/frame-omni-bencher
if ! "$bencher" --version 2>/dev/null | grep -q "$omni_version"; then
    echo "== installing frame-omni-bencher $omni_version into $tools"
    cargo install --locked --root "$tools" "frame-omni-bencher@$omni_version"
fi

medledger=(pallet_consortium pallet_ownership pallet_consent pallet_listing pallet_delivery pallet_escrow pallet_revenue)
frame=(frame_system frame_system_extensions pallet_balances pallet_timestamp pallet_transaction_payment)
selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=("${medledger[@]}" "${frame[@]}" overhead)
pallets=()
for item in "${selected[@]}"; do [[ $item == overhead ]] || pallets+=("$item"); done

if [[ " ${selected[*]} " == *" overhead "* ]]; then
    # The runtime the chain runs (no benchmarks compiled in), built where the node's is.
    echo "== overhead: building the runtime's wasm (release)"
    CARGO_TARGET_DIR=$node_target cargo build --locked --release -p medledger-runtime
    echo "== overhead"
    "$bencher" v1 benchmark overhead \
        --runtime "$node_target/release/wbuild/medledger-runtime/medledger_runtime.compact.compressed.wasm" \
        --genesis-builder-preset development --weight-path runtime/src/weights
fi
[[ ${#pallets[@]} -gt 0 ]] || { echo "weights written; check them with: cargo test --workspace"; exit 0; }

echo "== building the runtime's wasm with runtime-benchmarks (release)"
cargo build --locked --release -p medledger-runtime --features runtime-benchmarks
wasm=$CARGO_TARGET_DIR/release/wbuild/medledger-runtime/medledger_runtime.compact.compressed.wasm

for pallet in "${pallets[@]}"; do
    if [[ " ${medledger[*]} " == *" $pallet "* ]]; then
        output=(--output "pallets/${pallet#pallet_}/src/weights.rs" --template scripts/weight-template.hbs)
    elif [[ " ${frame[*]} " == *" $pallet "* ]]; then
        output=(--output "runtime/src/weights/$pallet.rs")
    else
        echo "unknown pallet $pallet; known: ${medledger[*]} ${frame[*]} overhead" >&2
        exit 2
    fi
    echo "== $pallet"
    "$bencher" v1 benchmark pallet --runtime "$wasm" --pallet "$pallet" --extrinsic '*' \
        --steps "$steps" --repeat "$repeat" --wasm-execution compiled \
        "${output[@]}"
done
echo "weights written; check them with: cargo test --workspace"
