#!/usr/bin/env bash
# Runs the whole test suite: pallet unit tests on mock runtimes, the client libraries' tests
# (SoftHSM2 tokens, FHIR corpus), the multi-node integration tests, which start real
# `medledger-node` processes on 127.0.0.1, and every pallet benchmark once as a test.
# Extra arguments go to the workspace run (e.g. `scripts/test.sh -p pallet-consent`).
set -uo pipefail
cd "$(dirname "$0")/.."

# One warm target directory for every build, local and CI (see ARCHITECTURE.md, Build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
status=0
# --no-fail-fast: report every failing test binary, not just the first.
cargo test --workspace --locked --no-fail-fast "$@" || status=1
# Benchmarks need the `runtime-benchmarks` feature, which is per pallet: each runs once on the
# pallet's mock runtime (`impl_benchmark_test_suite!`).
for pallet in pallet-consortium pallet-ownership pallet-consent pallet-listing pallet-escrow pallet-revenue; do
    SKIP_WASM_BUILD=1 cargo test --locked --no-fail-fast -p "$pallet" \
        --features runtime-benchmarks --lib -- benchmarking || status=1
done
exit $status
