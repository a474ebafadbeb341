//! An order its custodian never delivers is refunded in full once the deadline has passed, and
//! not before (development chain, where a consortium vote shortens the delivery period); an
//! order the custodian has nothing to deliver for is declined by its node and refunded at once.

mod support;

use std::time::Duration;

use medledger_runtime::RuntimeCall;
use medledger_test_harness::{wait_until, Network};
use pallet_escrow::OrderState;
use sp_core::Encode;
use sp_keyring::Sr25519Keyring::{Alice, AliceStash, BobStash, Ferdie, One};
use support::{
    dispatch, dispatch_ok, enrol, events, ingest_synthetic, order_at, pass_root_call,
    register_records, research_listing, storage,
};

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

/// Alice General lists a dataset at a flat 5 000 000; One registers a key and buys it (order 0).
fn list_and_buy(alice: &medledger_test_harness::Node) {
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
}

/// Alice's listing 0 offered anew: `summary` as its description's text, at a flat `price`.
fn update_listing(summary: &[u8], price: u128) -> RuntimeCall {
    let pricing = pallet_listing::Pricing {
        model: pallet_listing::PriceModel::Flat(price),
        max_records: 100,
    };
    let RuntimeCall::Listing(pallet_listing::Call::create_listing {
        mut description, ..
    }) = research_listing(&[], pricing.model, pricing.max_records)
    else {
        unreachable!("research_listing creates a listing")
    };
    description.filter_summary = summary.to_vec().try_into().expect("a short summary");
    RuntimeCall::Listing(pallet_listing::Call::update_listing {
        listing: 0,
        description,
        pricing,
    })
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

    // A consortium vote of the development hospitals shortens the delivery period to a few
    // blocks (there is no sudo).
    let key = sp_io::hashing::twox_128(b":DeliveryPeriod:").to_vec();
    pass_root_call(
        alice,
        RuntimeCall::System(frame_system::Call::set_storage {
            items: vec![(key, DELIVERY_PERIOD.encode())],
        }),
    )
    .unwrap();
    list_and_buy(alice);
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

    // While the order awaits delivery its listing's description, which the node delivers it
    // by, stays as sold: only the price may change.
    assert_eq!(
        dispatch(alice, Alice, update_listing(b"one day only", 5_000_000)).unwrap(),
        Err(sp_runtime::DispatchError::from(
            pallet_listing::Error::<medledger_runtime::Runtime>::DescriptionInUse
        ))
    );
    dispatch_ok(alice, Alice, update_listing(b"research dataset", 6_000_000))
        .expect("a new price for later sales");

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
    dispatch_ok(alice, Alice, update_listing(b"one day only", 6_000_000))
        .expect("no order awaits delivery: the description may change");
}

#[test]
fn an_order_nobody_consented_to_is_declined_and_refunded_at_once() {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();
    let patients = [Ferdie, AliceStash];
    // A third patient of the export never enrols: register-records leaves its records out.
    let owners: Vec<_> = [Ferdie, AliceStash, BobStash]
        .iter()
        .map(|p| p.to_account_id())
        .collect();
    let (store, key_file) = ingest_synthetic(work, "store", 3, 3, &owners).expect("ingest");
    let mut net = Network::new(NODE);
    net.start_node(
        "alice",
        &[
            "--dev",
            "--node-key",
            &format!("{:064x}", 1),
            "--fhir-store",
            &store.to_string_lossy(),
            "--fhir-store-key",
            &key_file.to_string_lossy(),
            "--delivery-k",
            "1",
        ],
    )
    .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();
    // The patients are enrolled and own registered records, but consent to nothing.
    for patient in patients {
        enrol(alice, Alice, patient).expect("enrol");
    }
    let registered = register_records(NODE, alice, &store).expect("register records");
    assert!(
        registered.contains("records of 1 patient(s) not enrolled with this hospital skipped"),
        "{registered}"
    );
    let owned = |who: sp_keyring::Sr25519Keyring| -> u32 {
        let account = who.to_account_id().encode();
        let key = [sp_io::hashing::blake2_128(&account).as_slice(), &account].concat();
        storage(alice, "Ownership", "OwnerRecordCount", &key, None)
            .unwrap()
            .unwrap_or_default()
    };
    assert!(owned(Ferdie) > 0 && owned(AliceStash) > 0, "{registered}");
    assert_eq!(owned(BobStash), 0, "the unenrolled patient's records wait");
    list_and_buy(alice);
    let order = order_at(alice, 0, None).unwrap();
    assert!(
        order.deadline > order.placed_at + 1_000,
        "the default period"
    );

    let refunded_in = wait_until("the order to be refunded", Duration::from_secs(180), || {
        let now = order_at(alice, 0, None)?;
        Ok((now.state == OrderState::Refunded).then_some(()))
    })
    .and_then(|()| alice.best_number())
    .unwrap();
    assert!(
        refunded_in < u64::from(order.deadline),
        "refunded long before the deadline"
    );
    assert_eq!(held_by_buyer(alice), 0, "the whole price is free again");
    assert!(order_at(alice, 0, None).unwrap().receipt.is_none());
    let declined =
        (u64::from(order.placed_at)..=refunded_in).find_map(|number| {
            let hash = alice.block_hash(number).ok()??;
            let mut declined_by = None;
            let mut refund_cause = None;
            for record in events(alice, &hash).ok()? {
                match record.event {
                    medledger_runtime::RuntimeEvent::Escrow(
                        pallet_escrow::Event::DeliveryDeclined { submitted_by, .. },
                    ) => declined_by = Some(submitted_by),
                    medledger_runtime::RuntimeEvent::Escrow(
                        pallet_escrow::Event::OrderRefunded { cause, amount, .. },
                    ) => refund_cause = Some((cause, amount)),
                    _ => {}
                }
            }
            declined_by.zip(refund_cause)
        });
    assert_eq!(
        declined,
        Some((
            Alice.to_account_id(),
            (pallet_escrow::RefundCause::NothingToDeliver, 5_000_000)
        )),
        "the custodian's node declined it and the buyer got the whole price back"
    );
    assert!(alice
        .log()
        .contains("order 0: no record is consented for this buyer and purpose"));
}
