//! A buyer's dispute through the real runtime (escrow → consortium vote → escrow): a decision
//! reached in the vote's last block is applied, and no Root vote, which would count the
//! custodian's own vote, can decide it.

mod common;

use common::genesis_state;
use medledger_runtime::{
    Balances, Consortium, Delivery, Escrow, Listing, Runtime, RuntimeCall, RuntimeOrigin, System,
    UNIT,
};
use pallet_escrow::{Decision, DisputeOutcome, OrderState};
use sp_core::{Encode, H256};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Ferdie};
use sp_runtime::traits::Zero;

const PRICE: u128 = 100 * UNIT;

fn signed(who: Sr25519Keyring) -> RuntimeOrigin {
    RuntimeOrigin::signed(who.to_account_id())
}

fn order_state() -> OrderState<u32> {
    pallet_escrow::Orders::<Runtime>::get(0)
        .expect("order 0")
        .state
}

fn check_invariants() {
    pallet_escrow::Pallet::<Runtime>::do_try_state().expect("escrow invariants");
    pallet_consortium::Pallet::<Runtime>::do_try_state().expect("consortium invariants");
}

/// Alice General sells a flat-priced dataset to Ferdie, delivers it, and Ferdie disputes it.
/// Returns the index of the dispute vote and its last block.
fn disputed_sale() -> (u32, u32) {
    System::set_block_number(1);
    Listing::create_listing(
        signed(Alice),
        pallet_listing::ListingDescription {
            filter_summary: b"research dataset".to_vec().try_into().unwrap(),
            categories: Default::default(),
            time_range: pallet_listing::TimeRange {
                from: 0,
                until: u64::MAX,
            },
            purpose: pallet_listing::Purpose::Research,
            terms_hash: H256::repeat_byte(0x7e),
        },
        pallet_listing::Pricing {
            model: pallet_listing::PriceModel::Flat(PRICE),
            max_records: 10,
        },
    )
    .expect("listing");
    let key = pallet_delivery::DeliveryKey(pallet_delivery::P256_GENERATOR_COMPRESSED);
    Delivery::register_delivery_key(signed(Ferdie), key).expect("key");
    Escrow::buy(signed(Ferdie), 0, PRICE, 1).expect("buy");
    System::set_block_number(2);
    Escrow::submit_receipt(
        signed(Alice),
        0,
        H256::repeat_byte(0xd1),
        4_096,
        3,
        H256::repeat_byte(0x5e),
        key,
        1,
        2,
    )
    .expect("receipt");
    Escrow::dispute(signed(Ferdie), 0).expect("dispute");
    let OrderState::Disputed { vote_expires_at } = order_state() else {
        panic!("disputed")
    };
    let (index, _) = pallet_consortium::Proposals::<Runtime>::iter()
        .find(|(_, proposal)| {
            proposal.action == pallet_consortium::Action::DecideDispute { order: 0 }
        })
        .expect("the dispute vote is open");
    (index, vote_expires_at)
}

#[test]
fn a_dispute_decided_in_the_votes_last_block_is_applied() {
    genesis_state(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
        let (index, last_block) = disputed_sale();
        let buyer_before = Balances::free_balance(Ferdie.to_account_id());
        System::set_block_number(last_block);
        for member in [Bob, Charlie] {
            Consortium::vote(signed(member), index, true, Zero::zero()).expect("vote");
        }
        assert_eq!(
            order_state(),
            OrderState::Resolved {
                outcome: DisputeOutcome::Decided(Decision::BuyerWins)
            }
        );
        assert_eq!(
            Balances::free_balance(Ferdie.to_account_id()),
            buyer_before + PRICE + 10 * UNIT,
            "price and bond (10 units) back to the buyer"
        );
        assert!(
            Escrow::finalize(signed(Dave), 0).is_err(),
            "nothing left to settle"
        );
        check_invariants();
    });
}

#[test]
fn a_root_vote_counting_the_custodian_cannot_decide_its_dispute() {
    genesis_state(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
        let (_, last_block) = disputed_sale();
        let resolve = RuntimeCall::Escrow(pallet_escrow::Call::resolve_dispute {
            order: 0,
            decision: Decision::CustodianWins,
        });
        Consortium::propose(
            signed(Alice),
            pallet_consortium::Action::DispatchAsRoot {
                call: resolve.encode().try_into().expect("a short call"),
            },
        )
        .expect("the custodian proposes a Root decision");
        let root_vote = pallet_consortium::ProposalCount::<Runtime>::get() - 1;
        let bound = frame_support::weights::Weight::from_parts(u64::MAX / 2, u64::MAX / 2);
        for member in [Bob, Charlie] {
            Consortium::vote(signed(member), root_vote, true, bound).expect("vote");
        }
        assert!(
            pallet_consortium::Proposals::<Runtime>::get(root_vote).is_none(),
            "the Root vote passed and ran"
        );
        assert!(
            matches!(order_state(), OrderState::Disputed { .. }),
            "but the dispute is undecided"
        );
        let executed = System::events()
            .into_iter()
            .find_map(|record| match record.event {
                medledger_runtime::RuntimeEvent::Consortium(
                    pallet_consortium::Event::Executed { index, result },
                ) if index == root_vote => Some(result),
                _ => None,
            });
        assert_eq!(
            executed,
            Some(Err(sp_runtime::DispatchError::BadOrigin)),
            "the Root call was refused"
        );
        // With no decision, the delivery stands once the vote is over (the escrow's default).
        System::set_block_number(last_block + 1);
        Escrow::finalize(signed(Dave), 0).expect("finalize after the vote");
        assert_eq!(
            order_state(),
            OrderState::Resolved {
                outcome: pallet_escrow::DEFAULT_ON_VOTE_EXPIRY
            }
        );
        check_invariants();
    });
}
