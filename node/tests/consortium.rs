//! Permissioning on real nodes: only the consortium's nodes obtain blocks.

mod support;

use std::time::{Duration, Instant};

use medledger_runtime::{opaque::SessionKeys, AccountId, Runtime, RuntimeCall};
use medledger_test_harness::{wait_until, Network};
use pallet_consortium::ActionOf;
use serde_json::json;
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Eve, Ferdie, Two};
use sp_runtime::codec::{Decode, Encode};
use support::{runtime_api, submit};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// A stranger knows the chain spec and has every member as a bootnode, but its peer id is not
/// in the consortium: it must stay at genesis while the members keep finalizing. It does reach
/// the members (they know its peer id from its connection), but they refuse it before any sync
/// handshake: it never has a single sync peer.
#[test]
fn stranger_with_the_chain_spec_obtains_no_blocks() {
    assert_stranger_obtains_no_blocks(&[]);
}

/// The same with litep2p on every node. litep2p reports no peers in
/// `system_unstable_networkState`, so that the stranger reached the members is not observed
/// here; `block_requests.rs` shows litep2p members refusing a stranger's handshakes.
#[test]
fn stranger_with_the_chain_spec_obtains_no_blocks_with_litep2p() {
    assert_stranger_obtains_no_blocks(&["--network-backend", "litep2p"]);
}

fn assert_stranger_obtains_no_blocks(backend: &[&str]) {
    let litep2p = backend.contains(&"litep2p");
    let mut net = Network::new(NODE);
    net.start_local_validators_with(&["alice", "bob", "charlie", "dave"], backend)
        .unwrap();
    wait_until("finality past block 2", Duration::from_secs(120), || {
        Ok((net.node("alice").finalized_number()? > 2).then_some(()))
    })
    .unwrap();

    // Node key 5 is a development key whose peer id no member authorised.
    let stranger_key = format!("{:064x}", 5);
    let mut args = vec!["--chain", "local", "--node-key", &stranger_key];
    args.extend(backend);
    net.start_node("stranger", &args).unwrap();
    let stranger_id = net.node("stranger").peer_id().unwrap();
    let start_height = net.node("alice").finalized_number().unwrap();
    let watch_until = Instant::now() + Duration::from_secs(30);
    let mut reached_a_member = false;
    while Instant::now() < watch_until {
        let stranger = net.node("stranger");
        assert_eq!(
            stranger.best_number().unwrap(),
            0,
            "the stranger obtained a block"
        );
        let health = stranger.rpc("system_health", json!([])).unwrap();
        assert_eq!(health["peers"], 0, "the stranger got a sync peer: {health}");
        for member in net.nodes().iter().filter(|n| n.name != "stranger") {
            let peers = member.rpc("system_peers", json!([])).unwrap();
            assert!(
                !peers.to_string().contains(&stranger_id),
                "{} syncs with the stranger: {peers}",
                member.name
            );
            let state = member
                .rpc("system_unstable_networkState", json!([]))
                .unwrap();
            assert!(
                state["connectedPeers"].get(&stranger_id).is_none(),
                "{} opened a sync substream with the stranger",
                member.name
            );
            reached_a_member |= state["notConnectedPeers"].get(&stranger_id).is_some();
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        net.node("alice").finalized_number().unwrap() >= start_height + 5,
        "the members kept finalizing meanwhile"
    );
    assert!(
        reached_a_member || litep2p,
        "no member ever saw the stranger: it was not refused, it never got there"
    );
    assert_eq!(net.node("stranger").best_number().unwrap(), 0);
}

/// Peer id (binary) of development node key 5, the fifth hospital's node.
const FIFTH_PEER_ID: &str =
    "002408011220fde4fba030ad002f7c2f7d4c331f49d13fb0ec747eceebec634f1ff4cbca9def";

fn vote(node: &medledger_test_harness::Node, voter: sp_keyring::Sr25519Keyring, index: u32) {
    let call = RuntimeCall::Consortium(pallet_consortium::Call::vote {
        index,
        aye: true,
        call_weight_bound: Default::default(),
    });
    submit(node, voter, call).unwrap();
}

fn authorities(
    node: &medledger_test_harness::Node,
) -> Vec<sp_consensus_aura::sr25519::AuthorityId> {
    runtime_api(node, "AuraApi_authorities", ()).unwrap()
}

/// Blocks the node's log says it sealed, as (number, hash): "Pre-sealed block for proposal at
/// N. Hash now 0x…, previously …".
fn authored(log: &str) -> Vec<(u64, String)> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split("Pre-sealed block for proposal at ").nth(1)?;
            let number = rest.split('.').next()?.parse().ok()?;
            let hash = rest
                .split("Hash now ")
                .nth(1)?
                .split(',')
                .next()?
                .to_string();
            Some((number, hash))
        })
        .collect()
}

/// Four hospitals vote a fifth in; once it registers session keys and the session turns, it
/// authors blocks on the canonical chain. Then they vote it out: at the next session it leaves
/// the authority set and the others keep finalizing.
#[test]
fn fifth_hospital_is_voted_in_authors_and_is_voted_out() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();
    assert_eq!(authorities(alice).len(), 4);

    // Alice proposes Ferdie's hospital; Bob and Charlie make it three of four.
    let info = pallet_consortium::HospitalInfo {
        name: b"Ferdie Infirmary".to_vec().try_into().unwrap(),
        delivery_endpoint: b"http://127.0.0.1:8804".to_vec().try_into().unwrap(),
        peer_ids: vec![medledger_test_harness::decode_hex(FIFTH_PEER_ID)
            .unwrap()
            .try_into()
            .unwrap()]
        .try_into()
        .unwrap(),
    };
    let add = pallet_consortium::Action::AddHospital {
        account: Ferdie.to_account_id(),
        info,
    };
    submit(
        alice,
        Alice,
        RuntimeCall::Consortium(pallet_consortium::Call::propose { action: add }),
    )
    .unwrap();
    vote(alice, Bob, 0);
    vote(alice, Charlie, 0);
    let members: Vec<AccountId> = runtime_api(alice, "ConsortiumApi_members", ()).unwrap();
    assert!(
        members.contains(&Ferdie.to_account_id()),
        "Ferdie was admitted"
    );

    // Its node is now authorised: it syncs, generates session keys and registers them.
    net.start_node(
        "ferdie",
        &[
            "--chain",
            "local",
            "--ferdie",
            "--node-key",
            &format!("{:064x}", 5),
        ],
    )
    .unwrap();
    let target = net.node("alice").best_number().unwrap();
    wait_until("ferdie to sync", Duration::from_secs(120), || {
        Ok((net.node("ferdie").best_number()? >= target).then_some(()))
    })
    .unwrap();
    let generated = net
        .node("ferdie")
        .rpc(
            "author_rotateKeysWithOwner",
            json!([format!("0x{}", hex_of(&Ferdie.to_account_id().encode()))]),
        )
        .unwrap();
    let keys_bytes =
        medledger_test_harness::decode_hex(generated["keys"].as_str().unwrap()).unwrap();
    let proof = medledger_test_harness::decode_hex(generated["proof"].as_str().unwrap()).unwrap();
    let keys = SessionKeys::decode(&mut &keys_bytes[..]).unwrap();
    let alice = net.node("alice");
    submit(
        alice,
        Ferdie,
        RuntimeCall::Session(pallet_session::Call::set_keys { keys, proof }),
    )
    .unwrap();

    // Two session turns later (sessions are 10 blocks) it is an authority and authors.
    wait_until("five authorities", Duration::from_secs(180), || {
        Ok((authorities(alice).len() == 5).then_some(()))
    })
    .unwrap();
    let canonical = wait_until(
        "a canonical block authored by ferdie",
        Duration::from_secs(120),
        || {
            for (number, hash) in authored(&net.node("ferdie").log()) {
                if net.node("alice").block_hash(number)?.as_deref() == Some(hash.as_str()) {
                    return Ok(Some(number));
                }
            }
            Ok(None)
        },
    )
    .unwrap();
    wait_until(
        "finality past ferdie's block",
        Duration::from_secs(120),
        || Ok((net.node("alice").finalized_number()? > canonical).then_some(())),
    )
    .unwrap();

    // Voted out (Ferdie does not vote on its own removal): it leaves at a session turn, and
    // the four keep finalizing.
    let remove = pallet_consortium::Action::RemoveHospital {
        account: Ferdie.to_account_id(),
    };
    let alice = net.node("alice");
    submit(
        alice,
        Alice,
        RuntimeCall::Consortium(pallet_consortium::Call::propose { action: remove }),
    )
    .unwrap();
    vote(alice, Bob, 1);
    vote(alice, Charlie, 1);
    let members: Vec<AccountId> = runtime_api(alice, "ConsortiumApi_members", ()).unwrap();
    assert!(
        !members.contains(&Ferdie.to_account_id()),
        "Ferdie was removed"
    );
    wait_until("four authorities again", Duration::from_secs(180), || {
        Ok((authorities(net.node("alice")).len() == 4).then_some(()))
    })
    .unwrap();
    let after = net.node("alice").finalized_number().unwrap();
    wait_until("finality without ferdie", Duration::from_secs(120), || {
        Ok((net.node("alice").finalized_number()? > after + 3).then_some(()))
    })
    .unwrap();
    // Its node, still running, was cut off when the removal was finalized: it has none of the
    // blocks the others finalized since (at most its own, on a fork nobody follows).
    let latest = net.node("alice").finalized_number().unwrap();
    assert_ne!(
        net.node("ferdie").block_hash(latest).unwrap(),
        net.node("alice").block_hash(latest).unwrap(),
        "the removed hospital still receives the consortium's blocks"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Peer id (binary) of the development node key `secret` (`0x00…secret`).
fn peer_id_bytes(secret: u8) -> Vec<u8> {
    let mut seed = [0u8; 32];
    seed[31] = secret;
    libp2p::identity::Keypair::ed25519_from_bytes(seed)
        .expect("a valid ed25519 seed")
        .public()
        .to_peer_id()
        .to_bytes()
}

/// Proposes `action` as Alice; Bob and Charlie make it three of four.
fn pass(node: &medledger_test_harness::Node, action: ActionOf<Runtime>, index: u32) {
    submit(
        node,
        Alice,
        RuntimeCall::Consortium(pallet_consortium::Call::propose { action }),
    )
    .unwrap();
    vote(node, Bob, index);
    vote(node, Charlie, index);
}

/// The consortium replaces its regulator: two membership changes (a new regulator's node is
/// admitted, Eve's is removed). Eve's running observer is cut off at the finalized block that
/// removed it and gets no later block; the new regulator's observer, started afterwards from
/// genesis (where only the old member set is authorised), syncs to the finalized head.
#[test]
fn a_removed_regulator_is_cut_off_and_a_new_one_syncs_from_genesis() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    let eve_key = format!("{:064x}", 6);
    net.start_node(
        "eve",
        &["--chain", "local", "--observer", "--node-key", &eve_key],
    )
    .unwrap();
    wait_until("eve to follow finality", Duration::from_secs(120), || {
        Ok((net.node("eve").finalized_number()? > 2).then_some(()))
    })
    .unwrap();

    // Ferdie's authority registers node key 7; Eve's registration ends.
    let add = pallet_consortium::Action::AddRegulator {
        account: Ferdie.to_account_id(),
        info: pallet_consortium::RegulatorInfo {
            name: b"Ferdie Health Authority".to_vec().try_into().unwrap(),
            peer_id: peer_id_bytes(7).try_into().unwrap(),
        },
    };
    pass(net.node("alice"), add, 0);
    pass(
        net.node("alice"),
        pallet_consortium::Action::RemoveRegulator {
            account: Eve.to_account_id(),
        },
        1,
    );
    let regulators: Vec<AccountId> =
        runtime_api(net.node("alice"), "ConsortiumApi_regulators", ()).unwrap();
    assert_eq!(regulators, vec![Ferdie.to_account_id()]);
    let removed_at = net.node("alice").best_number().unwrap();

    // Eve is dropped once the removal is final: well after it, she has no block at a height
    // the members finalized (she keeps what she had; a running node just stops getting more).
    let later = removed_at + 10;
    wait_until(
        "finality well past the removal",
        Duration::from_secs(120),
        || Ok((net.node("alice").finalized_number()? > later).then_some(())),
    )
    .unwrap();
    let eve_best = net.node("eve").best_number().unwrap();
    assert!(
        eve_best < later,
        "eve, removed at block {removed_at}, still got block {eve_best}"
    );
    assert!(net
        .node("alice")
        .log()
        .contains("authorised peers as of finalized block"));

    // The new regulator's observer starts from genesis and reaches the finalized head.
    let ferdie_key = format!("{:064x}", 7);
    net.start_node(
        "ferdie",
        &["--chain", "local", "--observer", "--node-key", &ferdie_key],
    )
    .unwrap();
    let target = net.node("alice").finalized_number().unwrap();
    let reached = wait_until(
        "the new regulator to finalize the members' head",
        Duration::from_secs(120),
        || {
            let n = net.node("ferdie").finalized_number()?;
            Ok((n >= target).then_some(n))
        },
    )
    .unwrap();
    assert_eq!(
        net.node("ferdie").block_hash(reached).unwrap(),
        net.node("alice").block_hash(reached).unwrap()
    );
}

/// A node whose finalized state authorises none of the nodes it can reach syncs from the
/// bootnode its operator named. Two regulators join the development chain after genesis
/// (node keys 7 and 8); the first one's observer syncs, then the only author (Alice) goes away.
/// The second regulator's observer starts from genesis, where only the genesis members and Eve
/// are authorised, with the first regulator's node as its one bootnode: it must sync that node's
/// chain instead of waiting forever for a genesis member.
#[test]
fn a_node_that_knows_no_reachable_member_syncs_from_its_bootnode() {
    let mut net = Network::new(NODE);
    let alice_key = format!("{:064x}", 1);
    net.start_node("alice", &["--dev", "--node-key", &alice_key])
        .unwrap();
    for (index, (account, name, key)) in [
        (Ferdie.to_account_id(), "Ferdie Health Authority", 7),
        (Two.to_account_id(), "Second Health Authority", 8),
    ]
    .into_iter()
    .enumerate()
    {
        let add = pallet_consortium::Action::AddRegulator {
            account,
            info: pallet_consortium::RegulatorInfo {
                name: name.as_bytes().to_vec().try_into().unwrap(),
                peer_id: peer_id_bytes(key).try_into().unwrap(),
            },
        };
        pass(net.node("alice"), add, index as u32);
    }
    let admitted_at = net.node("alice").best_number().unwrap();
    wait_until(
        "the admissions to be final",
        Duration::from_secs(120),
        || Ok((net.node("alice").finalized_number()? > admitted_at + 2).then_some(())),
    )
    .unwrap();

    let ferdie_key = format!("{:064x}", 7);
    net.start_node(
        "ferdie",
        &["--chain", "dev", "--observer", "--node-key", &ferdie_key],
    )
    .unwrap();
    let head = net.node("alice").finalized_number().unwrap();
    wait_until(
        "ferdie to finalize alice's head",
        Duration::from_secs(120),
        || Ok((net.node("ferdie").finalized_number()? >= head).then_some(())),
    )
    .unwrap();
    // Two more blocks reach Ferdie's node as announcements: the best block a node tells its
    // peers follows those, not the blocks of its initial sync.
    let tip = net.node("alice").best_number().unwrap() + 2;
    wait_until(
        "ferdie to import two announced blocks",
        Duration::from_secs(60),
        || Ok((net.node("ferdie").best_number()? >= tip).then_some(())),
    )
    .unwrap();
    // No genesis member is reachable any more; Ferdie's node keeps the chain.
    net.node_mut("alice").kill();
    let ferdie_head = net.node("ferdie").best_number().unwrap();

    // The harness names every running node as a bootnode: Ferdie's only.
    let second_key = format!("{:064x}", 8);
    net.start_node(
        "second",
        &["--chain", "dev", "--observer", "--node-key", &second_key],
    )
    .unwrap();
    wait_until(
        "the second regulator to sync from its bootnode",
        Duration::from_secs(120),
        || Ok((net.node("second").best_number()? >= ferdie_head).then_some(())),
    )
    .unwrap();
    assert_eq!(
        net.node("second").block_hash(ferdie_head).unwrap(),
        net.node("ferdie").block_hash(ferdie_head).unwrap()
    );
    assert!(net
        .node("second")
        .log()
        .contains("are its sync sources until it catches up"));
}
