//! Permissioning on real nodes: only the consortium's nodes obtain blocks.

use std::time::{Duration, Instant};

use medledger_test_harness::{wait_until, Network};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// A stranger knows the chain spec and has every member as a bootnode, but its peer id is not
/// in the consortium: it must stay at genesis while the members keep finalizing, and the members
/// must have refused it (not merely failed to reach it).
#[test]
fn stranger_with_the_chain_spec_obtains_no_blocks() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"]).unwrap();
    wait_until("finality past block 2", Duration::from_secs(120), || {
        Ok((net.node("alice").finalized_number()? > 2).then_some(()))
    })
    .unwrap();

    // Node key 5 is a development key whose peer id no member authorised.
    net.start_node("stranger", &["--chain", "local", "--node-key", &format!("{:064x}", 5)]).unwrap();
    let start_height = net.node("alice").finalized_number().unwrap();
    let watch_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < watch_until {
        let stranger = net.node("stranger");
        assert_eq!(stranger.best_number().unwrap(), 0, "the stranger obtained a block");
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        net.node("alice").finalized_number().unwrap() >= start_height + 5,
        "the members kept finalizing meanwhile"
    );
    // The stranger did reach the members: they saw it and banned it.
    let refusals = net
        .nodes()
        .iter()
        .filter(|n| n.name != "stranger")
        .filter(|n| {
            let log = n.log();
            log.contains("banning unauthorised peer") || log.contains("request from unauthorised peer")
        })
        .count();
    assert!(refusals > 0, "no member logged refusing the stranger");
    assert_eq!(net.node("stranger").best_number().unwrap(), 0);
}
