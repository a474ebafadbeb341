//! Consortium governance on real nodes: a runtime upgrade enacted by a two-thirds Root
//! proposal, and bad governance input refused with named errors and no change.

mod support;

use std::{path::PathBuf, process::Command, time::Duration};

use frame_support::{dispatch::GetDispatchInfo, weights::Weight};
use medledger_runtime::{AccountId, Runtime, RuntimeCall, RuntimeEvent};
use medledger_test_harness::{wait_until, Network, Node};
use pallet_consortium::{Action, ActionOf, HospitalInfo, ProposalIndex, ProposalOf};
use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave, Eve, Ferdie};
use sp_runtime::{codec::Encode, DispatchError};
use support::{dispatch, dispatch_in_block, dispatch_ok, events, runtime_version, storage};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");
const HOSPITALS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn consortium(call: pallet_consortium::Call<Runtime>) -> RuntimeCall {
    RuntimeCall::Consortium(call)
}

fn propose(action: ActionOf<Runtime>) -> RuntimeCall {
    consortium(pallet_consortium::Call::propose { action })
}

fn vote(index: ProposalIndex, call_weight_bound: Weight) -> RuntimeCall {
    consortium(pallet_consortium::Call::vote {
        index,
        aye: true,
        call_weight_bound,
    })
}

fn admit_ferdie() -> ActionOf<Runtime> {
    Action::AddHospital {
        account: Ferdie.to_account_id(),
        info: HospitalInfo {
            name: b"Ferdie's Clinic".to_vec().try_into().unwrap(),
            delivery_endpoint: b"https://ferdie.example/".to_vec().try_into().unwrap(),
            peer_ids: vec![b"ferdie-node".to_vec().try_into().unwrap()]
                .try_into()
                .unwrap(),
        },
    }
}

fn consortium_error(error: pallet_consortium::Error<Runtime>) -> DispatchError {
    error.into()
}

fn members(node: &Node) -> Vec<AccountId> {
    storage(node, "Consortium", "Members", &[], None)
        .unwrap()
        .unwrap_or_default()
}

fn proposal_count(node: &Node) -> ProposalIndex {
    storage(node, "Consortium", "ProposalCount", &[], None)
        .unwrap()
        .unwrap_or_default()
}

fn proposal(node: &Node, index: ProposalIndex) -> Option<ProposalOf<Runtime>> {
    let key = [
        sp_io::hashing::twox_64(&index.encode()).as_slice(),
        &index.encode(),
    ]
    .concat();
    storage(node, "Consortium", "Proposals", &key, None).unwrap()
}

fn spec_version(node: &Node) -> u32 {
    runtime_version(node).unwrap().0
}

/// The `local` chain spec with proposals that expire after `lifetime` blocks.
fn local_spec_with_proposal_lifetime(net: &Network, lifetime: u32) -> PathBuf {
    let out = Command::new(NODE)
        .args(["build-spec", "--chain", "local"])
        .output()
        .expect("the node runs");
    assert!(out.status.success(), "build-spec failed: {out:?}");
    let mut spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    spec["genesis"]["runtimeGenesis"]["patch"]["consortium"]["proposalLifetime"] = lifetime.into();
    let path = net.dir().join("local-short-votes.json");
    std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
    path
}

fn finality_past(net: &Network, name: &str, number: u64) {
    wait_until(
        &format!("{name} to finalize past #{number}"),
        Duration::from_secs(120),
        || Ok((net.node(name).finalized_number()? > number).then_some(())),
    )
    .unwrap();
}

/// Integration test 5: Alice proposes `system.set_code` with the next spec version; Bob's aye
/// is not enough, Charlie's third aye (with a weight bound covering `set_code`) enacts it. All
/// four hospitals then run the new runtime and keep finalizing, and transactions signed for
/// the new version are accepted.
#[test]
fn runtime_upgrade_is_enacted_by_two_thirds_root_proposal() {
    let code = medledger_runtime_next::WASM_BINARY
        .expect("the next runtime's wasm (built unless SKIP_WASM_BUILD is set)")
        .to_vec();
    let mut net = Network::new(NODE);
    net.start_local_validators(&HOSPITALS).unwrap();
    finality_past(&net, "alice", 2);
    let alice = net.node("alice");
    let old_version = spec_version(alice);

    let set_code = RuntimeCall::System(frame_system::Call::set_code { code });
    let set_code_weight = set_code.get_dispatch_info().call_weight;
    let index = proposal_count(alice);
    dispatch_ok(
        alice,
        Alice,
        propose(Action::DispatchAsRoot {
            call: set_code.encode().try_into().unwrap(),
        }),
    )
    .unwrap();
    dispatch_ok(alice, Bob, vote(index, Weight::zero())).unwrap();
    assert_eq!(
        spec_version(alice),
        old_version,
        "two of four ayes enact nothing"
    );

    // The deciding vote must cover the call's weight; without it nothing is enacted.
    assert_eq!(
        dispatch(alice, Charlie, vote(index, Weight::zero())).unwrap(),
        Err(consortium_error(
            pallet_consortium::Error::CallWeightAboveBound
        ))
    );
    assert!(
        proposal(alice, index).is_some(),
        "the proposal is still open"
    );
    dispatch_ok(alice, Charlie, vote(index, set_code_weight)).unwrap();

    for name in HOSPITALS {
        wait_until(
            &format!("{name} to run the new runtime"),
            Duration::from_secs(60),
            || Ok((runtime_version(net.node(name))?.0 == old_version + 1).then_some(())),
        )
        .unwrap();
    }
    let upgraded_at = alice.best_number().unwrap();
    for name in HOSPITALS {
        finality_past(&net, name, upgraded_at + 2);
    }
    assert!(
        proposal(alice, index).is_none(),
        "the passed proposal is gone"
    );
    // A wallet signing for the new spec version still gets its transactions in.
    dispatch_ok(
        alice,
        Dave,
        RuntimeCall::System(frame_system::Call::remark {
            remark: b"after the upgrade".to_vec(),
        }),
    )
    .unwrap();
}

/// Integration test 6: each bad governance transaction, sent over RPC to a hospital's node,
/// fails with its named error and leaves the consortium as it was.
#[test]
fn bad_governance_input_is_refused_by_name_and_changes_nothing() {
    let mut net = Network::new(NODE);
    let spec = local_spec_with_proposal_lifetime(&net, 6);
    net.start_validators(&HOSPITALS, spec.to_str().unwrap())
        .unwrap();
    finality_past(&net, "alice", 1);
    let node = net.node("alice");
    let founders = members(node);
    assert_eq!(founders.len(), 4);

    // A non-member (the regulator Eve) may neither propose nor vote.
    assert_eq!(
        dispatch(node, Eve, propose(admit_ferdie())).unwrap(),
        Err(consortium_error(pallet_consortium::Error::NotMember))
    );
    assert_eq!(proposal_count(node), 0, "no proposal was opened");

    let index = proposal_count(node);
    dispatch_ok(node, Alice, propose(admit_ferdie())).unwrap();
    let opened = proposal(node, index).expect("Alice's proposal is open");
    assert_eq!(opened.ayes.to_vec(), vec![Alice.to_account_id()]);

    assert_eq!(
        dispatch(node, Eve, vote(index, Weight::zero())).unwrap(),
        Err(consortium_error(pallet_consortium::Error::NotMember))
    );
    // Proposing counted as Alice's aye: a second vote is a double vote.
    assert_eq!(
        dispatch(node, Alice, vote(index, Weight::zero())).unwrap(),
        Err(consortium_error(pallet_consortium::Error::AlreadyVoted))
    );
    assert_eq!(
        proposal(node, index),
        Some(opened.clone()),
        "votes unchanged"
    );

    // Removing a hospital from a four-member consortium would leave three.
    assert_eq!(
        dispatch(
            node,
            Bob,
            propose(Action::RemoveHospital {
                account: Dave.to_account_id()
            })
        )
        .unwrap(),
        Err(consortium_error(pallet_consortium::Error::TooFewMembers))
    );
    assert_eq!(proposal_count(node), index + 1, "no removal proposal");

    // After its deadline the proposal takes no votes; closing it changes nothing.
    wait_until("the proposal to expire", Duration::from_secs(60), || {
        Ok((node.best_number()? > u64::from(opened.expires_at)).then_some(()))
    })
    .unwrap();
    assert_eq!(
        dispatch(node, Bob, vote(index, Weight::zero())).unwrap(),
        Err(consortium_error(pallet_consortium::Error::ProposalExpired))
    );
    assert_eq!(proposal(node, index), Some(opened), "votes unchanged");
    let (closed_in, closed) = dispatch_in_block(
        node,
        Charlie,
        consortium(pallet_consortium::Call::close { index }),
    )
    .unwrap();
    assert_eq!(closed, Ok(()));
    let expired_event = events(node, &closed_in)
        .unwrap()
        .into_iter()
        .any(|r| r.event == RuntimeEvent::Consortium(pallet_consortium::Event::Expired { index }));
    assert!(expired_event, "closing reports the expiry");
    assert!(proposal(node, index).is_none());
    assert_eq!(members(node), founders, "Ferdie was never admitted");
}
