#!/usr/bin/env bash
# Regenerates client/chain/metadata.scale, the runtime metadata medledger-chain generates its
# typed calls from, out of the runtime in this checkout (native build; no node needed).
# `cargo test -p medledger-chain --test metadata` fails until this is run after a runtime change.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}
exec cargo run -q -p medledger-chain --example write_metadata -- "$PWD/client/chain/metadata.scale"
