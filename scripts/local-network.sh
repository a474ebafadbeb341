#!/usr/bin/env bash
# Starts the 4-hospital local network (validators Alice, Bob, Charlie, Dave of `--chain local`)
# on 127.0.0.1, each with its own base path and ports; prints the RPC endpoints; Ctrl-C stops
# every node.
#
#   scripts/local-network.sh              build (if needed) and run, chain data in ./local-network
#   scripts/local-network.sh --purge      start from genesis again
#   MEDLEDGER_NODE=/path/to/medledger-node scripts/local-network.sh   use a given binary
#   MEDLEDGER_PROFILE=release scripts/local-network.sh                 run the release build
#
# By default it builds the dev profile, the same build `scripts/test.sh` uses, so the README's
# two commands build the node once (the CPU-heavy dependencies are optimized even in dev,
# see ARCHITECTURE.md, Build). Performance figures come from release builds (scripts/bench-*).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
NET_DIR="${MEDLEDGER_NET_DIR:-$PWD/local-network}"
NODE="${MEDLEDGER_NODE:-}"
VALIDATORS=(alice bob charlie dave)
P2P_BASE=30333
RPC_BASE=9944
# The hospitals' delivery endpoints, as the local chain's genesis publishes them.
DELIVERY_BASE=8800

if [[ "${1:-}" == "--purge" ]]; then
    rm -rf "$NET_DIR"
fi

if [[ -z "$NODE" ]]; then
    case "${MEDLEDGER_PROFILE:-dev}" in
        dev) cargo build --locked -p medledger-node; NODE="$CARGO_TARGET_DIR/debug/medledger-node" ;;
        release) cargo build --release --locked -p medledger-node; NODE="$CARGO_TARGET_DIR/release/medledger-node" ;;
        *) echo "MEDLEDGER_PROFILE must be dev or release" >&2; exit 2 ;;
    esac
fi

mkdir -p "$NET_DIR"
pids=()
stop() {
    echo
    echo "stopping ${#pids[@]} nodes"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM

bootnode=""
for i in "${!VALIDATORS[@]}"; do
    name="${VALIDATORS[$i]}"
    key_file="$NET_DIR/$name.node-key"
    # Development node key n+1 (0x00…01 for Alice, …): its peer id is authorised in the local
    # chain's genesis; a node with any other key is refused by every member.
    printf '%064x' $((i + 1)) > "$key_file"
    p2p=$((P2P_BASE + i))
    rpc=$((RPC_BASE + i))
    args=(--chain local "--$name" --base-path "$NET_DIR/$name" --node-key-file "$key_file"
          --listen-addr "/ip4/127.0.0.1/tcp/$p2p" --rpc-port "$rpc"
          --delivery-listen "127.0.0.1:$((DELIVERY_BASE + i))"
          --prometheus-port $((9615 + i)) --no-mdns --no-telemetry)
    [[ -n "$bootnode" ]] && args+=(--bootnodes "$bootnode")
    "$NODE" "${args[@]}" >"$NET_DIR/$name.log" 2>&1 &
    pids+=($!)
    if [[ -z "$bootnode" ]]; then
        peer_id=$("$NODE" key inspect-node-key --file "$key_file")
        bootnode="/ip4/127.0.0.1/tcp/$p2p/p2p/$peer_id"
    fi
    printf '%-8s rpc ws://127.0.0.1:%d  deliveries http://127.0.0.1:%d  store %s  log %s\n' \
        "$name" "$rpc" $((DELIVERY_BASE + i)) "$NET_DIR/$name/fhir-store" "$NET_DIR/$name.log"
done

echo
echo "4-hospital network running. polkadot.js: https://polkadot.js.org/apps/?rpc=ws://127.0.0.1:$RPC_BASE"
echo "Ctrl-C stops every node; chain data stays in $NET_DIR (--purge to start over)."
# Exit (and stop the others) as soon as any node dies.
wait -n "${pids[@]}"
echo "a node exited; see the logs in $NET_DIR" >&2
exit 1
