//! The genesis presets build a state in which the consortium's invariants hold (the session
//! pallet queued exactly the members with session keys), and they keep holding as sessions
//! turn.

mod common;

use codec::Encode;
use common::genesis_state;
use medledger_runtime::{
    opaque::SessionKeys, Runtime, RuntimeCall, RuntimeOrigin, Session, System,
};
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::traits::Dispatchable;

fn assert_invariants() {
    pallet_consortium::Pallet::<Runtime>::do_try_state().expect("consortium invariants");
}

fn queued_validators() -> Vec<medledger_runtime::AccountId> {
    pallet_session::QueuedKeys::<Runtime>::get()
        .into_iter()
        .map(|(validator, _)| validator)
        .collect()
}

#[test]
fn every_preset_starts_with_the_consortium_invariants_holding() {
    for preset in [
        sp_genesis_builder::DEV_RUNTIME_PRESET,
        sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
    ] {
        genesis_state(preset).execute_with(|| {
            System::set_block_number(1);
            assert_invariants();
        });
    }
}

/// The development chain has four members but only Alice has session keys: she stays the only
/// validator, at genesis and after sessions turn; the four local hospitals are all queued, and
/// stay queued when too few of them keep session keys.
#[test]
fn sessions_queue_exactly_the_members_with_session_keys() {
    let alice = sp_keyring::Sr25519Keyring::Alice.to_account_id();
    genesis_state(sp_genesis_builder::DEV_RUNTIME_PRESET).execute_with(|| {
        assert_eq!(queued_validators(), vec![alice.clone()]);
        for block in 1..=3u32 {
            System::set_block_number(block);
            Session::rotate_session();
            assert_eq!(queued_validators(), vec![alice.clone()]);
            assert_invariants();
        }
    });
    genesis_state(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
        let members = pallet_consortium::Members::<Runtime>::get().into_inner();
        assert_eq!(members.len(), 4);
        assert_eq!(queued_validators(), members);
        System::set_block_number(1);
        Session::rotate_session();
        assert_invariants();
        // With only MinMembers (4) keyed members, no validator may purge its keys: fewer would
        // hand blocks and finality to a minority (and none would stop the chain).
        let purge = RuntimeCall::Session(pallet_session::Call::purge_keys {});
        let bob = RuntimeOrigin::signed(sp_keyring::Sr25519Keyring::Bob.to_account_id());
        let refused = purge.clone().dispatch(bob).unwrap_err().error;
        assert_eq!(refused, frame_system::Error::<Runtime>::CallFiltered.into());
        for block in 2..=3u32 {
            System::set_block_number(block);
            Session::rotate_session();
            assert_eq!(queued_validators(), members);
            assert_invariants();
        }
        // The same validators with the same keys session after session: GRANDPA keeps its
        // authority set (a new set would hold finality back for a round at every session).
        assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 0);
        assert!(pallet_grandpa::PendingChange::<Runtime>::get().is_none());
    });
}

/// The validator set stays but one validator registers new session keys: GRANDPA starts a new
/// authority set once those keys are active (the session after they are queued), so reporting
/// an unchanged set as unchanged never keeps old keys in the authority set.
#[test]
fn a_validator_that_changes_its_keys_starts_a_new_authority_set() {
    let bob = sp_keyring::Sr25519Keyring::Bob.to_account_id();
    let mut state = genesis_state(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET);
    state.register_extension(KeystoreExt::new(MemoryKeystore::new()));
    state.execute_with(|| {
        System::set_block_number(1);
        let generated = SessionKeys::generate(&bob.encode(), None);
        let set_keys = RuntimeCall::Session(pallet_session::Call::set_keys {
            keys: generated.keys.clone(),
            proof: generated.proof.encode(),
        });
        set_keys
            .dispatch(RuntimeOrigin::signed(bob.clone()))
            .expect("Bob registers new keys");
        let members = pallet_consortium::Members::<Runtime>::get().into_inner();
        // First turn: the same validators, Bob's new keys queued.
        Session::rotate_session();
        assert_eq!(queued_validators(), members);
        assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 0);
        // Second turn: the queued keys become the active ones, and GRANDPA follows.
        System::set_block_number(2);
        Session::rotate_session();
        assert_eq!(pallet_grandpa::CurrentSetId::<Runtime>::get(), 1);
        let change = pallet_grandpa::PendingChange::<Runtime>::get().expect("a new set is pending");
        assert!(change
            .next_authorities
            .iter()
            .any(|(key, _)| *key == generated.keys.grandpa));
        assert_invariants();
    });
}
