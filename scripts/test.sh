#!/usr/bin/env bash
# Runs the whole test suite: pallet unit tests on mock runtimes, the client libraries' tests
# (SoftHSM2 tokens, FHIR corpus), the multi-node integration tests, which start real
# `medledger-node` processes on 127.0.0.1, and every pallet benchmark once as a test.
# Extra arguments go to the workspace run (e.g. `scripts/test.sh -p pallet-consent`). Last, the
# web portal's end-to-end test in headless Chromium against a real node (portal/tests; set
# MEDLEDGER_SKIP_PORTAL=1 to skip it).
set -uo pipefail
cd "$(dirname "$0")/.."

# One warm target directory for every build, local and CI (see ARCHITECTURE.md, Build).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
status=0
# --no-fail-fast: report every failing test binary, not just the first.
cargo test --workspace --locked --no-fail-fast "$@" || status=1
# Every pallet's benchmarks, once each as a test on the pallet's mock runtime
# (`impl_benchmark_test_suite!`), and every benchmark the runtime lists, on the real runtime
# (runtime/tests/benchmarks.rs): one cargo invocation with the `runtime-benchmarks` feature, so
# FRAME is compiled with it once.
pallets=(consortium ownership consent listing delivery escrow revenue)
features=$(printf 'pallet-%s/runtime-benchmarks,' "${pallets[@]}")
SKIP_WASM_BUILD=1 cargo test --locked --no-fail-fast "${pallets[@]/#/--package=pallet-}" \
    --package=medledger-runtime --features "${features}medledger-runtime/runtime-benchmarks" \
    --lib --test benchmarks -- benchmarking || status=1
# The portal's browser test: builds portal/dist, starts a development node and a regulator's
# observer on free loopback ports (the debug node that `cargo test` just built, or
# MEDLEDGER_NODE; the `medledger` CLI next to it, or MEDLEDGER_CLI, fills the hospital's store)
# and drives Chromium through it down to a patient's claim; at most 15 minutes, nodes always killed.
if [[ -z "${MEDLEDGER_SKIP_PORTAL:-}" ]]; then
    echo "== portal: browser tests"
    (cd portal && npm run --silent build && timeout -k 30 900 node tests/portal.test.mjs) || { echo "portal: browser tests failed (screenshots and node logs in portal/test-results/)" >&2; status=1; }
fi
exit $status
