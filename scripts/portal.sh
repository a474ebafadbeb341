#!/usr/bin/env bash
# Serves the web portal (portal/) on http://127.0.0.1:5173 against the local network of
# scripts/local-network.sh (start that first, in another terminal).
#
#   scripts/portal.sh                     patients, buyers, hospitals use ws://127.0.0.1:9944
#   scripts/portal.sh --observer          also starts the regulator's observer node (//Eve's
#                                         node key 6) on ws://127.0.0.1:9950 for the Regulator page
#   MEDLEDGER_RPC=ws://127.0.0.1:9945 PORTAL_PORT=8080 scripts/portal.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
RPC="${MEDLEDGER_RPC:-ws://127.0.0.1:9944}"
PORT="${PORTAL_PORT:-5173}"
NET_DIR="${MEDLEDGER_NET_DIR:-$PWD/local-network}"
OBSERVER="$RPC"
pids=()
trap '[[ ${#pids[@]} -gt 0 ]] && kill "${pids[@]}" 2>/dev/null; true' EXIT INT TERM

if [[ "${1:-}" == "--observer" ]]; then
    NODE="${MEDLEDGER_NODE:-}"
    # The build local-network.sh runs by default first: both must carry the same genesis.
    for candidate in "$CARGO_TARGET_DIR/debug/medledger-node" "$CARGO_TARGET_DIR/release/medledger-node"; do
        [[ -z "$NODE" && -x "$candidate" ]] && NODE="$candidate"
    done
    [[ -n "$NODE" ]] || { echo "error: no medledger-node built; set MEDLEDGER_NODE" >&2; exit 1; }
    mkdir -p "$NET_DIR"
    alice_peer=$("$NODE" key inspect-node-key --file <(printf '%064x' 1))
    "$NODE" --chain local --observer --node-key "$(printf '%064x' 6)" --base-path "$NET_DIR/regulator" \
        --rpc-port 9950 --listen-addr /ip4/127.0.0.1/tcp/30340 --no-prometheus --no-mdns --no-telemetry \
        --bootnodes "/ip4/127.0.0.1/tcp/30333/p2p/$alice_peer" >"$NET_DIR/regulator.log" 2>&1 &
    pids+=($!)
    OBSERVER="ws://127.0.0.1:9950"
    echo "regulator observer: $OBSERVER (log $NET_DIR/regulator.log)"
fi

cd portal
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run --silent build
echo
echo "MedLedger portal: http://127.0.0.1:$PORT/?rpc=$RPC&observer=$OBSERVER"
echo "Ctrl-C stops it."
node_modules/.bin/vite preview --host 127.0.0.1 --port "$PORT" --strictPort &
pids+=($!)
wait "${pids[-1]}"
