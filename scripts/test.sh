#!/usr/bin/env bash
# Runs the whole test suite: pallet unit tests on mock runtimes, the client libraries' tests
# (SoftHSM2 tokens, FHIR corpus) and the multi-node integration tests, which start real
# `medledger-node` processes on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

# One warm target directory for every build, local and CI (DEVELOPERS.md).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
# --no-fail-fast: report every failing test binary, not just the first.
exec cargo test --workspace --locked --no-fail-fast "$@"
