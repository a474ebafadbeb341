//! The payout worker and the payout book on the mock runtime: which pools the worker
//! publishes, when it commits a root, and that a book built from delivered records pays every
//! owner exactly through the chain's claims.

use crate::{
    book::{epoch_leaves, order_entries},
    mock::*,
    offchain::{outcome_key, PayoutJob, PayoutJobs, PayoutOutcome, JOBS_KEY, RESUBMIT_AFTER},
    Call, EpochLength, EpochPools, Error, Event, PayoutEntry, PayoutRoots, PoolOrders,
};
use frame_support::{assert_noop, assert_ok, traits::Hooks};
use pallet_delivery::offchain::testing::{worker_externalities, WorkerPool};
use sp_core::H256;
use sp_runtime::{offchain::storage::StorageValueRef, BuildStorage};

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

fn published_jobs() -> Option<PayoutJobs<u64, u64, u64>> {
    StorageValueRef::persistent(JOBS_KEY)
        .get::<PayoutJobs<u64, u64, u64>>()
        .expect("jobs decode")
}

fn set_outcome(custodian: u64, epoch: u32, outcome: PayoutOutcome<u64>) {
    StorageValueRef::persistent(&outcome_key(&custodian, epoch)).set(&outcome);
}

/// The calls in the pool, with their signers.
fn submitted(pool: &WorkerPool) -> Vec<(u64, RuntimeCall)> {
    pool.signed_calls()
}

fn run_worker_at(block: u64) {
    System::set_block_number(block);
    Revenue::offchain_worker(block);
}

/// Two hospitals each released orders in epoch 0 (owners' parts 700 + 140 for the hospital,
/// 350 for the other) and one more in epoch 1.
fn two_epochs_of_sales() {
    assert_ok!(release(1, HOSPITAL, 1_000, 3));
    assert_ok!(release(2, OTHER_HOSPITAL, 500, 1));
    assert_ok!(release(3, HOSPITAL, 200, 2));
    next_epoch();
    assert_ok!(release(4, HOSPITAL, 100, 1));
}

#[test]
fn worker_publishes_the_ended_pools_of_its_own_custodian_with_their_orders() {
    run_worker_test(&[HOSPITAL], |_| {
        two_epochs_of_sales();
        run_worker_at(EPOCH_LENGTH + 1);
        assert_eq!(
            published_jobs(),
            Some(PayoutJobs {
                as_of: EPOCH_LENGTH + 1,
                jobs: vec![PayoutJob {
                    custodian: HOSPITAL,
                    epoch: 0,
                    total: 840,
                    orders: vec![(1, 700), (3, 140)],
                }],
            }),
            "epoch 1 is still open and the other hospital's pool is not this node's"
        );
    });
}

#[test]
fn a_delegate_key_serves_its_custodian_and_a_node_without_keys_publishes_nothing() {
    run_worker_test(&[DELEGATE], |_| {
        two_epochs_of_sales();
        next_epoch();
        run_worker_at(2 * EPOCH_LENGTH);
        let jobs = published_jobs().expect("published").jobs;
        assert_eq!(
            jobs.iter()
                .map(|job| (job.custodian, job.epoch))
                .collect::<Vec<_>>(),
            vec![(HOSPITAL, 0), (HOSPITAL, 1)]
        );
    });
    run_worker_test(&[], |_| {
        two_epochs_of_sales();
        next_epoch();
        run_worker_at(2 * EPOCH_LENGTH);
        assert_eq!(published_jobs(), None);
    });
}

#[test]
fn an_older_worker_never_overwrites_a_newer_job_list() {
    run_worker_test(&[HOSPITAL], |_| {
        two_epochs_of_sales();
        run_worker_at(EPOCH_LENGTH + 5);
        Revenue::offchain_worker(EPOCH_LENGTH + 3);
        assert_eq!(published_jobs().expect("published").as_of, EPOCH_LENGTH + 5);
    });
}

#[test]
fn worker_commits_a_built_root_once_and_again_only_if_it_did_not_land() {
    run_worker_test(&[DELEGATE], |pool| {
        two_epochs_of_sales();
        run_worker_at(EPOCH_LENGTH + 1);
        assert!(submitted(pool).is_empty(), "nothing is built yet");

        let outcome = PayoutOutcome {
            root: H256::repeat_byte(0x11),
            total: 840,
            leaf_count: 2,
        };
        set_outcome(HOSPITAL, 0, outcome.clone());
        run_worker_at(EPOCH_LENGTH + 2);
        let commit = RuntimeCall::Revenue(Call::commit_root {
            custodian: HOSPITAL,
            epoch: 0,
            root: outcome.root,
            total: 840,
            leaf_count: 2,
        });
        assert_eq!(submitted(pool), vec![(DELEGATE, commit.clone())]);

        run_worker_at(EPOCH_LENGTH + 1 + u64::from(RESUBMIT_AFTER));
        assert_eq!(
            submitted(pool).len(),
            1,
            "not again before the resubmit delay"
        );
        run_worker_at(EPOCH_LENGTH + 2 + u64::from(RESUBMIT_AFTER));
        assert_eq!(
            submitted(pool).len(),
            2,
            "again: the first one never landed"
        );

        assert_ok!(Revenue::commit_root(
            RuntimeOrigin::signed(DELEGATE),
            HOSPITAL,
            0,
            outcome.root,
            840,
            2
        ));
        run_worker_at(EPOCH_LENGTH + 3 + 2 * u64::from(RESUBMIT_AFTER));
        assert_eq!(submitted(pool).len(), 2, "a committed pool is no job");
        assert!(
            published_jobs()
                .expect("published")
                .jobs
                .iter()
                .all(|job| job.epoch != 0),
            "a committed pool is no job"
        );
    });
}

#[test]
fn worker_refuses_a_built_root_whose_total_is_not_the_pool() {
    run_worker_test(&[HOSPITAL], |pool| {
        two_epochs_of_sales();
        set_outcome(
            HOSPITAL,
            0,
            PayoutOutcome {
                root: H256::repeat_byte(0x11),
                total: 839,
                leaf_count: 2,
            },
        );
        run_worker_at(EPOCH_LENGTH + 1);
        assert!(submitted(pool).is_empty());
    });
}

#[test]
fn only_the_custodian_or_its_delegate_commits_its_root() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1_000, 3));
        next_epoch();
        for stranger in [OTHER_HOSPITAL, HELPER, ALICE] {
            assert_noop!(
                Revenue::commit_root(
                    RuntimeOrigin::signed(stranger),
                    HOSPITAL,
                    0,
                    H256::zero(),
                    700,
                    1
                ),
                Error::<Test>::NotCustodian
            );
        }
        assert_ok!(Revenue::commit_root(
            RuntimeOrigin::signed(DELEGATE),
            HOSPITAL,
            0,
            H256::zero(),
            700,
            1
        ));
        assert_eq!(
            System::events().last().expect("an event").event,
            RuntimeEvent::Revenue(Event::RootCommitted {
                custodian: HOSPITAL,
                by: DELEGATE,
                epoch: 0,
                root: H256::zero(),
                total: 700,
                leaf_count: 1,
            })
        );
    });
}

#[test]
fn pool_orders_record_each_sales_part_and_outlive_the_pool() {
    run_test(|| {
        two_epochs_of_sales();
        let parts: Vec<_> = PoolOrders::<Test>::iter_prefix((HOSPITAL, 0)).collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.contains(&(1, 700)) && parts.contains(&(3, 140)));
        next_epoch();
        commit(HOSPITAL, 0, &[(ALICE, 840)], 840);
        assert_eq!(EpochPools::<Test>::get(HOSPITAL, 0), None);
        assert_eq!(PoolOrders::<Test>::get((HOSPITAL, 0, 1)), Some(700));
    });
}

#[test]
fn a_sale_with_nothing_for_owners_leaves_no_pool_order() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1, 1));
        assert_eq!(PoolOrders::<Test>::iter().count(), 0);
        assert_eq!(EpochPools::<Test>::iter().count(), 0);
    });
}

#[test]
fn the_genesis_may_set_the_epoch_length() {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .expect("system genesis");
    crate::GenesisConfig::<Test> {
        shares: None,
        epoch_length: Some(3),
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("revenue genesis");
    sp_io::TestExternalities::new(storage).execute_with(|| {
        assert_eq!(EpochLength::<Test>::get(), 3);
        System::set_block_number(7);
        assert_eq!(Revenue::current_epoch(), 2);
    });
    new_test_ext().execute_with(|| {
        assert_eq!(
            EpochLength::<Test>::get(),
            EPOCH_LENGTH,
            "the runtime's default"
        );
    });
}

fn record(byte: u8) -> H256 {
    H256::repeat_byte(byte)
}

#[test]
fn an_orders_entries_split_its_pool_exactly_in_commitment_order() {
    let records = [(record(3), BOB), (record(1), ALICE), (record(2), ALICE)];
    let entries = order_entries(7, 101u64, &records);
    assert_eq!(
        entries,
        vec![
            PayoutEntry {
                order: 7,
                record: record(1),
                owner: ALICE,
                amount: 34
            },
            PayoutEntry {
                order: 7,
                record: record(2),
                owner: ALICE,
                amount: 34
            },
            PayoutEntry {
                order: 7,
                record: record(3),
                owner: BOB,
                amount: 33
            },
        ]
    );
    assert_eq!(entries.iter().map(|e| e.amount).sum::<u64>(), 101);
    assert!(order_entries::<u64, u64>(7, 101, &[]).is_empty());
    let tiny = order_entries(7, 1u64, &records);
    assert_eq!(
        tiny.iter().map(|e| e.amount).collect::<Vec<_>>(),
        vec![1, 0, 0]
    );
}

#[test]
fn epoch_leaves_sum_each_owner_in_account_order_and_drop_zeros() {
    let mut entries = order_entries(1, 1u64, &[(record(1), CAROL), (record(2), BOB)]);
    entries.extend(order_entries(
        2,
        9u64,
        &[(record(5), CAROL), (record(4), ALICE)],
    ));
    // Order 1: Carol's record 1 takes the single unit, Bob's gets 0; order 2: Alice's record 4
    // comes first and takes the odd unit.
    assert_eq!(epoch_leaves(&entries), vec![(ALICE, 5), (CAROL, 5)]);
}

#[test]
fn a_book_built_from_delivered_records_pays_every_owner_through_claims() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1_000, 3));
        assert_ok!(release(2, HOSPITAL, 333, 2));
        next_epoch();
        let delivered = [
            (
                1,
                vec![(record(9), ALICE), (record(4), BOB), (record(6), ALICE)],
            ),
            (2, vec![(record(2), CAROL), (record(1), BOB)]),
        ];
        let mut entries = Vec::new();
        for (order, records) in &delivered {
            let part = PoolOrders::<Test>::get((HOSPITAL, 0, *order)).expect("released");
            entries.extend(order_entries(*order, part, records));
        }
        let leaves = epoch_leaves(&entries);
        let total: u64 = leaves.iter().map(|(_, amount)| amount).sum();
        assert_eq!(Some(total), EpochPools::<Test>::get(HOSPITAL, 0));
        let tree = commit(HOSPITAL, 0, &leaves, total);
        for (index, (owner, amount)) in leaves.iter().enumerate() {
            let index = index as u32;
            assert_ok!(Revenue::claim(
                RuntimeOrigin::signed(HELPER),
                HOSPITAL,
                0,
                index,
                *owner,
                *amount,
                proof_of(&tree, index)
            ));
        }
        let root = PayoutRoots::<Test>::get(HOSPITAL, 0).expect("committed");
        assert_eq!(root.claimed, root.total);
    });
}
