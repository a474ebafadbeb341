//! The custodian's node killed in the middle of a delivery delivers exactly once after a
//! restart, whether it died before keeping the sealed file or after: either way the delivery is
//! redone from scratch (files kept without a recorded outcome are never reused), with consent
//! checked again, so a patient who revoked while the node was down is left out. A hospital
//! without its data delivers nothing and the buyer's money stays held.

mod support;

use std::time::Duration;

use medledger_runtime::{AccountId, BlockNumber, RuntimeCall, RuntimeEvent, RuntimeHoldReason};
use medledger_sealing::container::ContainerHeader;
use medledger_test_harness::{wait_until, Network, Node};
use pallet_escrow::OrderState;
use sp_core::{crypto::Ss58Codec, Encode, H256};
use sp_keyring::Sr25519Keyring::{self, *};
use support::{
    dispatch_in_block, dispatch_ok, enrol, events, ingest_synthetic, order_at, register_records,
    research_by_anyone, research_listing, runtime_api, start_hospitals, storage,
};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");
const PATIENTS: [Sr25519Keyring; 3] = [Ferdie, AliceStash, BobStash];

/// Enrolment, registration, research consent, a listing of everything, a buyer's key and
/// purchase: order 0 of Alice General.
fn sell_one_dataset(node: &Node, store: &std::path::Path) {
    for patient in PATIENTS {
        enrol(node, Alice, patient).expect("enrol");
        dispatch_ok(node, patient, research_by_anyone()).expect("consent");
    }
    register_records(NODE, node, store).expect("register records");
    dispatch_ok(
        node,
        Alice,
        research_listing(&[], pallet_listing::PriceModel::Flat(1_000_000), 1_000),
    )
    .expect("listing");
    dispatch_ok(
        node,
        One,
        RuntimeCall::Delivery(pallet_delivery::Call::register_delivery_key {
            key: pallet_delivery::DeliveryKey(pallet_delivery::P256_GENERATOR_COMPRESSED),
        }),
    )
    .expect("key");
    dispatch_ok(
        node,
        One,
        RuntimeCall::Escrow(pallet_escrow::Call::buy {
            listing: 0,
            max_price: 1_000_000,
            listing_version: 1,
        }),
    )
    .expect("buy");
}

#[test]
fn a_custodian_killed_after_sealing_redoes_the_delivery_and_delivers_once() {
    killed_mid_delivery_delivers_once(CrashPoint::Sealed);
}

#[test]
fn a_custodian_killed_after_keeping_the_files_redoes_the_delivery_and_delivers_once() {
    killed_mid_delivery_delivers_once(CrashPoint::Kept);
}

/// Where the custodian's node is made to abort (`MEDLEDGER_DELIVERY_CRASH_AT`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CrashPoint {
    /// The container is sealed in the work folder; nothing is kept yet.
    Sealed,
    /// The sealed file and the opening are in place; the outcome is not recorded.
    Kept,
}

fn killed_mid_delivery_delivers_once(point: CrashPoint) {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();
    let owners: Vec<AccountId> = PATIENTS.iter().map(|p| p.to_account_id()).collect();
    let (store, key_file) = ingest_synthetic(work, "alice-store", 3, 5, &owners).expect("ingest");
    let mut net = Network::new(NODE);
    start_hospitals(
        &mut net,
        &[
            "--fhir-store",
            &store.to_string_lossy(),
            "--fhir-store-key",
            &key_file.to_string_lossy(),
            "--delivery-k",
            "1",
        ],
        &[(
            "MEDLEDGER_DELIVERY_CRASH_AT",
            match point {
                CrashPoint::Sealed => "sealed",
                CrashPoint::Kept => "kept",
            },
        )],
    )
    .expect("validators start");
    // Transactions go through Bob's node: Alice's will be down for a while.
    let bob = net.node("bob");
    wait_until("block 1", Duration::from_secs(180), || {
        Ok((bob.best_number()? >= 1).then_some(()))
    })
    .unwrap();
    sell_one_dataset(bob, &store);
    let placed_at = order_at(bob, 0, None).unwrap().placed_at;

    let deliveries = net.node("alice").base_path.join("deliveries");
    wait_until(
        "Alice's node to crash mid-delivery",
        Duration::from_secs(180),
        || Ok((!net.node_mut("alice").is_running()).then_some(())),
    )
    .unwrap();
    let sealed = deliveries.join("order-0.sealed");
    let digest_of = |path: &std::path::Path| {
        let len = std::fs::metadata(path).expect("a sealed file").len();
        let mut file = std::fs::File::open(path).expect("sealed");
        (
            H256(ContainerHeader::read(&mut file, len).unwrap().digest()),
            len,
        )
    };
    let opening_file = deliveries.join("order-0.opening.json");
    let read_opening = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&opening_file).expect("an opening")).unwrap()
    };
    let revoker = PATIENTS[0];
    let records_of_revoker = |opening: &serde_json::Value| {
        opening["records"]
            .as_array()
            .expect("the opening's records")
            .iter()
            .filter(|record| {
                AccountId::from_ss58check(record["owner"].as_str().expect("owner")).expect("SS58")
                    == revoker.to_account_id()
            })
            .count() as u64
    };
    let kept_before_crash = match point {
        CrashPoint::Sealed => {
            assert!(
                deliveries.join("order-0.work").exists(),
                "the interrupted delivery left its work folder"
            );
            assert!(!sealed.exists(), "nothing was kept");
            None
        }
        CrashPoint::Kept => {
            let opening = read_opening();
            assert!(
                records_of_revoker(&opening) > 0,
                "the patient who will revoke was delivered before the crash"
            );
            Some((digest_of(&sealed), opening))
        }
    };
    assert_eq!(
        order_at(net.node("bob"), 0, None).unwrap().state,
        OrderState::Paid
    );

    // While Alice's node is down, a patient revokes; the revocation is final before it restarts.
    let bob = net.node("bob");
    let consents: Vec<pallet_consent::Consent<AccountId, BlockNumber>> =
        runtime_api(bob, "ConsentApi_consents_of", revoker.to_account_id()).unwrap();
    let (revoked_in, revoked) = dispatch_in_block(
        bob,
        revoker,
        RuntimeCall::Consent(pallet_consent::Call::revoke_consent {
            consent: consents[0].id,
        }),
    )
    .expect("revoke");
    revoked.expect("the revocation succeeds");
    let revoked_at =
        medledger_test_harness::header_number(&bob.header(Some(&revoked_in)).unwrap()).unwrap();
    wait_until(
        "the revocation to be final",
        Duration::from_secs(120),
        || Ok((bob.finalized_number()? >= revoked_at).then_some(())),
    )
    .unwrap();

    let alice = net.node_mut("alice");
    alice.env.clear();
    alice.restart().expect("Alice restarts");
    let bob = net.node("bob");
    let receipt = wait_until("the receipt to be final", Duration::from_secs(240), || {
        let finalized = bob.finalized_hash()?;
        Ok(order_at(bob, 0, Some(&finalized))?.receipt)
    })
    .unwrap();

    // One sealed file, the one the receipt names; no work left behind. A file kept before the
    // crash is not reused: the delivery was redone, with consent checked after the revocation,
    // and its opening describes the new file.
    let (digest, len) = digest_of(&sealed);
    assert_eq!(digest, receipt.ciphertext_digest);
    assert_eq!(len, receipt.size);
    assert!(
        u64::from(receipt.receipt_block) >= revoked_at,
        "consent checked again after the restart ({} < {revoked_at})",
        receipt.receipt_block
    );
    let opening = read_opening();
    assert_eq!(
        opening["record_count"].as_u64(),
        Some(u64::from(receipt.record_count))
    );
    assert!(receipt.record_count > 0);
    assert_eq!(
        records_of_revoker(&opening),
        0,
        "the revoking patient's records are left out"
    );
    assert_eq!(
        opening["ciphertext_digest"].as_str(),
        Some(format!("{digest:?}").as_str())
    );
    assert_eq!(
        opening["receipt_block"].as_u64(),
        Some(u64::from(receipt.receipt_block))
    );
    if let Some(((kept_digest, _), kept_opening)) = kept_before_crash {
        assert_ne!(
            digest, kept_digest,
            "the kept file was replaced, not reused"
        );
        assert!(
            opening["receipt_block"].as_u64() > kept_opening["receipt_block"].as_u64(),
            "consent was checked at a later block than the kept delivery's"
        );
        assert_eq!(
            u64::from(receipt.record_count),
            kept_opening["record_count"].as_u64().unwrap() - records_of_revoker(&kept_opening),
            "the same records but the revoking patient's"
        );
    }
    assert!(!deliveries.join("order-0.work").exists());

    // Exactly one receipt in the whole chain, however often the worker ran. Wait a few more
    // blocks so a second submission would have landed.
    let final_number = bob.finalized_number().unwrap() + 5;
    wait_until(
        "five more finalized blocks",
        Duration::from_secs(120),
        || Ok((bob.finalized_number()? >= final_number).then_some(())),
    )
    .unwrap();
    let mut receipts = 0;
    let mut refused = 0;
    for number in u64::from(placed_at)..=final_number {
        let hash = bob.block_hash(number).unwrap().expect("a finalized block");
        for record in events(bob, &hash).unwrap() {
            match record.event {
                RuntimeEvent::Escrow(pallet_escrow::Event::ReceiptSubmitted {
                    order: 0, ..
                }) => receipts += 1,
                RuntimeEvent::System(frame_system::Event::ExtrinsicFailed { .. }) => refused += 1,
                _ => {}
            }
        }
    }
    assert_eq!(receipts, 1, "delivered exactly once");
    assert_eq!(refused, 0, "no second receipt was even attempted on chain");
}

#[test]
fn a_hospital_without_its_data_delivers_nothing_and_the_price_stays_held() {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();
    // The registrations come from an ingest the node never sees (its --fhir-store is empty).
    let owners: Vec<AccountId> = PATIENTS.iter().map(|p| p.to_account_id()).collect();
    let (staging, _) = ingest_synthetic(work, "elsewhere", 3, 6, &owners).expect("ingest");

    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(180), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();
    sell_one_dataset(alice, &staging);
    let placed_at = u64::from(order_at(alice, 0, None).unwrap().placed_at);
    wait_until(
        "ten finalized blocks after the sale",
        Duration::from_secs(180),
        || Ok((alice.finalized_number()? >= placed_at + 10).then_some(())),
    )
    .unwrap();
    let stored = order_at(alice, 0, None).unwrap();
    assert_eq!(stored.state, OrderState::Paid);
    assert!(stored.receipt.is_none());
    let buyer = One.to_account_id().encode();
    let key = [sp_io::hashing::blake2_128(&buyer).as_slice(), &buyer].concat();
    let holds: Vec<frame_support::traits::tokens::IdAmount<RuntimeHoldReason, u128>> =
        storage(alice, "Balances", "Holds", &key, None)
            .unwrap()
            .unwrap_or_default();
    assert_eq!(
        holds.iter().map(|hold| hold.amount).sum::<u128>(),
        stored.price,
        "the buyer's price is held, nothing else"
    );
    assert!(
        alice.log().contains("no FHIR store at"),
        "the operator is told why nothing is delivered"
    );
}
