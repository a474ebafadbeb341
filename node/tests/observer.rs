//! A regulator's observer node: follows the chain, writes nothing.

mod support;

use std::time::Duration;

use medledger_test_harness::{wait_until, Network};
use serde_json::json;
use sp_keyring::Sr25519Keyring;
use support::{next_nonce, signed};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// Node key 6 is the local chain's registered regulator (Eve Health Authority).
fn regulator_node_key() -> String {
    format!("{:064x}", 6)
}

#[test]
fn regulator_observer_syncs_finality_and_refuses_transactions() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    net.start_node(
        "regulator",
        &[
            "--chain",
            "local",
            "--observer",
            "--node-key",
            &regulator_node_key(),
        ],
    )
    .unwrap();

    // It syncs and reports the same finalized block as the hospitals.
    let (number, hash) = wait_until(
        "the observer to finalize past block 4",
        Duration::from_secs(180),
        || {
            let regulator = net.node("regulator");
            let number = regulator.finalized_number()?;
            Ok((number > 4).then(|| (number, regulator.finalized_hash())))
        },
    )
    .unwrap();
    let hash = hash.unwrap();
    assert_eq!(net.node("alice").block_hash(number).unwrap(), Some(hash));

    // Any extrinsic is refused, with a message that says why.
    let any_extrinsic = json!(["0x0c010203"]);
    let refusal = net
        .node("regulator")
        .rpc("author_submitExtrinsic", any_extrinsic)
        .unwrap_err();
    assert!(
        refusal.contains("read-only regulator observer"),
        "unclear refusal: {refusal}"
    );

    // A transfer a hospital's node would take, broadcast through the new transaction API: the
    // observer answers with an error (not an operation id it would then drop), and nothing of
    // it reaches the chain.
    let alice = net.node("alice");
    let nonce_before = next_nonce(alice, Sr25519Keyring::Alice).unwrap();
    let transfer = signed(
        alice,
        Sr25519Keyring::Alice,
        medledger_runtime::RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
            dest: Sr25519Keyring::Ferdie.to_account_id().into(),
            value: 1_000,
        }),
    )
    .unwrap();
    let refusal = net
        .node("regulator")
        .rpc("transaction_v1_broadcast", json!([transfer]))
        .unwrap_err();
    assert!(
        refusal.contains("read-only regulator observer"),
        "broadcast not refused clearly: {refusal}"
    );
    let finalized = net.node("regulator").finalized_number().unwrap();
    wait_until(
        "two more blocks to be finalized",
        Duration::from_secs(60),
        || Ok((net.node("alice").finalized_number()? >= finalized + 2).then_some(())),
    )
    .unwrap();
    assert_eq!(
        next_nonce(net.node("alice"), Sr25519Keyring::Alice).unwrap(),
        nonce_before,
        "the refused transfer reached a hospital's node"
    );

    // Unsafe methods are not served by an observer.
    let unsafe_call = net
        .node("regulator")
        .rpc("author_insertKey", json!(["aura", "//Eve", "0x00"]))
        .unwrap_err();
    assert!(
        unsafe_call.contains("unsafe"),
        "unsafe method not refused clearly: {unsafe_call}"
    );
    // It never authored a block.
    assert!(!net
        .node("regulator")
        .log()
        .contains("Prepared block for proposing"));
}

#[test]
fn observer_cannot_be_a_validator() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(NODE)
        .args([
            "--chain",
            "local",
            "--observer",
            "--alice",
            "--node-key",
            &format!("{:064x}", 1),
        ])
        .arg("--base-path")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--observer cannot be combined with --validator"),
        "{stderr}"
    );
}
