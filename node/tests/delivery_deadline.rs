//! An order its custodian never delivers is refunded in full once the deadline has passed, and
//! not before (development chain, where sudo shortens the delivery period).

mod support;

use std::time::Duration;

use medledger_runtime::RuntimeCall;
use medledger_test_harness::{wait_until, Network};
use pallet_escrow::OrderState;
use sp_core::Encode;
use sp_keyring::Sr25519Keyring::{Alice, One};
use support::{dispatch, dispatch_ok, order_at, research_listing, storage};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");
/// Long enough (30 s) that the early refund certainly lands before the deadline.
const DELIVERY_PERIOD: u32 = 10;

fn held_by_buyer(node: &medledger_test_harness::Node) -> u128 {
    let buyer = One.to_account_id().encode();
    let key = [sp_io::hashing::blake2_128(&buyer).as_slice(), &buyer].concat();
    let holds: Vec<
        frame_support::traits::tokens::IdAmount<medledger_runtime::RuntimeHoldReason, u128>,
    > = storage(node, "Balances", "Holds", &key, None)
        .unwrap()
        .unwrap_or_default();
    holds.iter().map(|hold| hold.amount).sum()
}

#[test]
fn an_undelivered_order_is_refunded_after_its_deadline_and_not_before() {
    let mut net = Network::new(NODE);
    // Alice's node has no FHIR store: it cannot deliver.
    net.start_node("alice", &["--dev", "--node-key", &format!("{:064x}", 1)])
        .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();

    // The development chain's sudo shortens the delivery period to a few blocks.
    let key = sp_io::hashing::twox_128(b":DeliveryPeriod:").to_vec();
    dispatch_ok(
        alice,
        Alice,
        RuntimeCall::Sudo(pallet_sudo::Call::sudo {
            call: Box::new(RuntimeCall::System(frame_system::Call::set_storage {
                items: vec![(key, DELIVERY_PERIOD.encode())],
            })),
        }),
    )
    .unwrap();
    dispatch_ok(
        alice,
        Alice,
        research_listing(&[], pallet_listing::PriceModel::Flat(5_000_000), 100),
    )
    .unwrap();
    dispatch_ok(
        alice,
        One,
        RuntimeCall::Delivery(pallet_delivery::Call::register_delivery_key {
            key: pallet_delivery::DeliveryKey(pallet_delivery::P256_GENERATOR_COMPRESSED),
        }),
    )
    .unwrap();
    dispatch_ok(
        alice,
        One,
        RuntimeCall::Escrow(pallet_escrow::Call::buy {
            listing: 0,
            max_price: 5_000_000,
            listing_version: 1,
        }),
    )
    .unwrap();
    let order = order_at(alice, 0, None).unwrap();
    assert_eq!(order.deadline, order.placed_at + DELIVERY_PERIOD);
    assert_eq!(held_by_buyer(alice), 5_000_000);

    let refund = || RuntimeCall::Escrow(pallet_escrow::Call::refund { order: 0 });
    assert_eq!(
        dispatch(alice, One, refund()).unwrap(),
        Err(sp_runtime::DispatchError::from(
            pallet_escrow::Error::<medledger_runtime::Runtime>::DeadlineNotPassed
        ))
    );
    assert_eq!(order_at(alice, 0, None).unwrap().state, OrderState::Paid);
    assert_eq!(held_by_buyer(alice), 5_000_000);

    wait_until("the deadline to pass", Duration::from_secs(120), || {
        Ok((alice.best_number()? > u64::from(order.deadline) + 1).then_some(()))
    })
    .unwrap();
    assert_eq!(
        order_at(alice, 0, None).unwrap().state,
        OrderState::Paid,
        "nothing was delivered"
    );
    dispatch_ok(alice, One, refund()).expect("refund after the deadline");
    assert_eq!(
        order_at(alice, 0, None).unwrap().state,
        OrderState::Refunded
    );
    assert_eq!(held_by_buyer(alice), 0, "the whole price is free again");
}
