//! The delivery worker on the mock runtime: which orders it publishes, when it submits a
//! receipt, and the receipt's records root.

use crate::{
    mock::*,
    offchain::{
        outcome_key, record_leaf, records_root, DeliveryJobs, DeliveryOutcome, SealedDelivery,
        JOBS_KEY, RECORD_NODE_DOMAIN, RESUBMIT_AFTER,
    },
    tests::{buy, go_to},
    Call, OrderState, Orders, PendingDeliveries,
};
use frame_support::{assert_ok, traits::Hooks};
use pallet_delivery::offchain::testing::{worker_externalities, WorkerPool};
use sp_core::H256;
use sp_runtime::offchain::storage::StorageValueRef;

/// A test externality with what a custodian's node gives its workers; `keys` are the node
/// keystore's delivery keys.
fn run_worker_test(keys: &[u64], test: impl FnOnce(&WorkerPool)) {
    let mut ext = new_test_ext();
    let pool = worker_externalities(&mut ext, keys);
    ext.execute_with(|| {
        test(&pool);
        check_invariants();
    });
}

fn published_jobs() -> Option<DeliveryJobs<u64>> {
    StorageValueRef::persistent(JOBS_KEY)
        .get::<DeliveryJobs<u64>>()
        .expect("jobs decode")
}

fn set_outcome(order: u64, outcome: DeliveryOutcome<u64>) {
    StorageValueRef::persistent(&outcome_key(order)).set(&outcome);
}

fn sealed(receipt_block: u64) -> DeliveryOutcome<u64> {
    DeliveryOutcome::Sealed(SealedDelivery {
        ciphertext_digest: H256::repeat_byte(0xd1),
        size: 4_096,
        record_count: 3,
        records_root: H256::repeat_byte(0x5e),
        receipt_block,
    })
}

/// The calls in the pool, with their signers.
fn submitted(pool: &WorkerPool) -> Vec<(u64, RuntimeCall)> {
    pool.signed_calls()
}

fn run_worker_at(block: u64) {
    go_to(block);
    Escrow::offchain_worker(block);
}

#[test]
fn worker_publishes_the_paid_orders_of_its_own_custodian_only() {
    run_worker_test(&[HOSPITAL], |_| {
        let mine = list(HOSPITAL, flat(100, 10));
        let theirs = list(OTHER_HOSPITAL, flat(100, 10));
        let first = buy(BUYER, mine);
        buy(BUYER, theirs);
        let second = buy(OTHER_BUYER, mine);
        run_worker_at(2);
        assert_eq!(
            published_jobs(),
            Some(DeliveryJobs {
                as_of: 2,
                orders: vec![first, second]
            })
        );
    });
}

#[test]
fn worker_acts_for_the_custodian_whose_delegate_key_it_holds() {
    run_worker_test(&[NODE_KEY], |_| {
        let listing = list(HOSPITAL, flat(100, 10));
        let order = buy(BUYER, listing);
        run_worker_at(2);
        assert_eq!(published_jobs().map(|jobs| jobs.orders), Some(vec![]));
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        run_worker_at(3);
        assert_eq!(published_jobs().map(|jobs| jobs.orders), Some(vec![order]));
    });
}

#[test]
fn worker_without_a_delivery_key_does_nothing() {
    run_worker_test(&[], |pool| {
        let listing = list(HOSPITAL, flat(100, 10));
        let order = buy(BUYER, listing);
        set_outcome(order, sealed(1));
        run_worker_at(2);
        assert_eq!(published_jobs(), None);
        assert!(submitted(pool).is_empty());
    });
}

#[test]
fn an_older_worker_never_overwrites_a_newer_job_list() {
    run_worker_test(&[HOSPITAL], |_| {
        let listing = list(HOSPITAL, flat(100, 10));
        let order = buy(BUYER, listing);
        run_worker_at(5);
        // A worker for block 4 finishing late sees the order delivered already (say).
        PendingDeliveries::<Test>::remove(HOSPITAL, order);
        Escrow::offchain_worker(4);
        PendingDeliveries::<Test>::insert(HOSPITAL, order, ());
        assert_eq!(
            published_jobs(),
            Some(DeliveryJobs {
                as_of: 5,
                orders: vec![order]
            })
        );
    });
}

#[test]
fn worker_submits_a_sealed_delivery_once_and_again_only_after_the_resubmit_delay() {
    run_worker_test(&[HOSPITAL], |pool| {
        let listing = list(HOSPITAL, per_record(10, 10));
        let order = buy(BUYER, listing);
        run_worker_at(2);
        assert!(submitted(pool).is_empty(), "nothing sealed yet");

        set_outcome(order, sealed(2));
        run_worker_at(3);
        let expected = RuntimeCall::Escrow(Call::submit_receipt {
            order,
            ciphertext_digest: H256::repeat_byte(0xd1),
            size: 4_096,
            record_count: 3,
            records_root: H256::repeat_byte(0x5e),
            delivery_key: buyer_key(),
            sale_block_consent: 1,
            receipt_block: 2,
        });
        assert_eq!(submitted(pool), vec![(HOSPITAL, expected.clone())]);

        run_worker_at(4);
        assert_eq!(submitted(pool).len(), 1, "in flight: not sent again");
        run_worker_at(3 + u64::from(RESUBMIT_AFTER));
        assert_eq!(
            submitted(pool),
            vec![(HOSPITAL, expected.clone()), (HOSPITAL, expected.clone())],
            "still paid after the delay: sent again"
        );

        // The receipt the worker built is one the chain accepts.
        let RuntimeCall::Escrow(call) = expected else {
            unreachable!()
        };
        assert_ok!(
            frame_support::traits::UnfilteredDispatchable::dispatch_bypass_filter(
                call,
                RuntimeOrigin::signed(HOSPITAL)
            )
        );
        assert!(matches!(
            Orders::<Test>::get(order).expect("order").state,
            OrderState::Delivered { .. }
        ));
        run_worker_at(4 + 2 * u64::from(RESUBMIT_AFTER));
        assert_eq!(submitted(pool).len(), 2, "delivered: never sent again");
        assert_eq!(published_jobs().map(|jobs| jobs.orders), Some(vec![]));
    });
}

#[test]
fn worker_submits_no_receipt_once_the_deadline_passed() {
    run_worker_test(&[HOSPITAL], |pool| {
        let listing = list(HOSPITAL, flat(100, 10));
        let late = buy(OTHER_BUYER, listing);
        set_outcome(late, sealed(1));
        run_worker_at(2 + DELIVERY_PERIOD);
        assert!(submitted(pool).is_empty());
    });
}

#[test]
fn worker_declines_an_order_with_nothing_to_deliver_and_the_buyer_is_refunded() {
    run_worker_test(&[HOSPITAL], |pool| {
        let listing = list(HOSPITAL, flat(100, 10));
        let empty = buy(BUYER, listing);
        let free_before = Balances::free_balance(BUYER);
        set_outcome(empty, DeliveryOutcome::NothingToDeliver { checked_at: 1 });
        run_worker_at(2);
        let expected = RuntimeCall::Escrow(Call::decline {
            order: empty,
            checked_at: 1,
        });
        assert_eq!(submitted(pool), vec![(HOSPITAL, expected.clone())]);
        run_worker_at(3);
        assert_eq!(submitted(pool).len(), 1, "in flight: not sent again");

        assert_ok!(
            frame_support::traits::UnfilteredDispatchable::dispatch_bypass_filter(
                expected,
                RuntimeOrigin::signed(HOSPITAL)
            )
        );
        assert_eq!(
            Orders::<Test>::get(empty).expect("order").state,
            OrderState::Refunded
        );
        assert_eq!(Balances::free_balance(BUYER), free_before + 100);
        run_worker_at(4 + u64::from(RESUBMIT_AFTER));
        assert_eq!(submitted(pool).len(), 1, "refunded: never sent again");
        assert_eq!(published_jobs().map(|jobs| jobs.orders), Some(vec![]));
    });
}

#[test]
fn records_root_ignores_order_and_binds_each_commitment_to_its_owner() {
    let a = (H256::repeat_byte(1), 7u64);
    let b = (H256::repeat_byte(2), 8u64);
    let c = (H256::repeat_byte(3), 9u64);
    let root = records_root(&[a, b, c]);
    assert_eq!(root, records_root(&[c, a, b]));
    assert_ne!(root, records_root(&[a, b, (c.0, 10)]), "owner is bound");
    assert_ne!(root, records_root(&[a, b]), "every record counts");
    assert_eq!(records_root::<u64>(&[]), H256::zero());
    assert_eq!(records_root(&[a]), record_leaf(&a.0, &a.1));

    // Recompute the three-leaf tree by hand: ((a, b), c), an odd node moving up.
    let blake = |parts: &[&[u8]]| H256(sp_io::hashing::blake2_256(&parts.concat()));
    let leaf = |(commitment, owner): (H256, u64)| {
        blake(&[
            b"mlrcpt:leaf:1",
            commitment.as_bytes(),
            &owner.to_le_bytes(),
        ])
    };
    let ab = blake(&[RECORD_NODE_DOMAIN, leaf(a).as_bytes(), leaf(b).as_bytes()]);
    let expected = blake(&[RECORD_NODE_DOMAIN, ab.as_bytes(), leaf(c).as_bytes()]);
    assert_eq!(root, expected);
}
