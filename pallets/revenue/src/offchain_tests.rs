//! The payout worker and the payout book on the mock runtime: which roots the worker asks its
//! node for, when it commits one, that a book built from delivered records pays every owner
//! exactly through the chain's claims, and that nothing public tells which owners were in
//! which sale.

use crate::{
    book::{cumulative_leaves, leaf_salt, order_entries},
    merkle::PayoutTree,
    mock::*,
    offchain::{
        outcome_key, submitted_key, PayoutJob, PayoutJobs, PayoutOutcome, JOBS_KEY, RESUBMIT_AFTER,
    },
    Call, Earned, EpochLength, Error, Event, PayoutEntry, PayoutLeaf, PoolOrders,
};
use frame_support::{assert_noop, assert_ok, traits::Hooks};
use pallet_delivery::offchain::{
    forget_submission,
    testing::{worker_externalities, WorkerPool},
};
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
fn worker_asks_for_its_own_custodians_root_of_the_last_ended_epoch_with_every_owner() {
    run_worker_test(&[HOSPITAL], |_| {
        Enrolled::set(vec![
            (ALICE, HOSPITAL),
            (BOB, OTHER_HOSPITAL),
            (CAROL, HOSPITAL),
        ]);
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
                    owners: vec![ALICE, CAROL],
                    rejected: None,
                }],
            }),
            "epoch 1 is still open and the other hospital's earnings are not this node's"
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
                .map(|job| (job.custodian, job.epoch, job.total, job.orders.len()))
                .collect::<Vec<_>>(),
            vec![(HOSPITAL, 1, 910, 3)],
            "one root, for the last ended epoch, covering both epochs' sales"
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
fn a_custodian_whose_only_sales_are_in_the_current_epoch_needs_no_root_yet() {
    run_worker_test(&[HOSPITAL], |_| {
        next_epoch();
        assert_ok!(release(1, HOSPITAL, 1_000, 3));
        run_worker_at(EPOCH_LENGTH + 1);
        assert_eq!(published_jobs().expect("published").jobs, vec![]);
        next_epoch();
        run_worker_at(2 * EPOCH_LENGTH + 1);
        assert_eq!(published_jobs().expect("published").jobs.len(), 1);
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
        run_worker_at(EPOCH_LENGTH + 8);
        assert_eq!(submitted(pool).len(), 2, "a committed root is no job");
        assert_eq!(
            published_jobs().expect("published").jobs,
            vec![],
            "a committed root is no job"
        );

        // The consortium rejects it: the node is asked for a new book and the rejected
        // root is never submitted again, even when a submission is due.
        assert_ok!(Revenue::reject_root(RuntimeOrigin::root(), HOSPITAL, 0));
        forget_submission(&submitted_key(&HOSPITAL, 0));
        run_worker_at(EPOCH_LENGTH + 9);
        let jobs = published_jobs().expect("published").jobs;
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].epoch, jobs[0].rejected), (0, Some(outcome.root)));
        assert_eq!(
            submitted(pool).len(),
            2,
            "the rejected root is not submitted again"
        );
        let rebuilt = PayoutOutcome {
            root: H256::repeat_byte(0x22),
            ..outcome
        };
        set_outcome(HOSPITAL, 0, rebuilt.clone());
        run_worker_at(EPOCH_LENGTH + 9);
        assert_eq!(
            submitted(pool).last().map(|(_, call)| call.clone()),
            Some(RuntimeCall::Revenue(Call::commit_root {
                custodian: HOSPITAL,
                epoch: 0,
                root: rebuilt.root,
                total: 840,
                leaf_count: 2,
            }))
        );
    });
}

#[test]
fn worker_refuses_a_built_root_whose_total_is_not_the_earnings() {
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
fn pool_orders_record_each_sales_part_and_outlive_the_root() {
    run_test(|| {
        two_epochs_of_sales();
        let parts: Vec<_> = PoolOrders::<Test>::iter_prefix((HOSPITAL, 0)).collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.contains(&(1, 700)) && parts.contains(&(3, 140)));
        next_epoch();
        commit(HOSPITAL, 1, &[(ALICE, 910)], 910);
        assert_eq!(PoolOrders::<Test>::get((HOSPITAL, 0, 1)), Some(700));
    });
}

#[test]
fn a_sale_with_nothing_for_owners_leaves_no_pool_order() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1, 1));
        assert_eq!(PoolOrders::<Test>::iter().count(), 0);
        assert_eq!(Earned::<Test>::iter().count(), 0);
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
fn leaves_sum_each_owner_in_account_order_and_keep_enrolled_owners_at_zero() {
    let mut entries = order_entries(1, 1u64, &[(record(1), CAROL), (record(2), BOB)]);
    entries.extend(order_entries(
        2,
        9u64,
        &[(record(5), CAROL), (record(4), ALICE)],
    ));
    let seed = [7u8; 32];
    // Order 1: Carol's record 1 takes the single unit, Bob's gets 0; order 2: Alice's record 4
    // comes first and takes the odd unit. Dave is enrolled and earned nothing.
    let leaves = cumulative_leaves(&entries, &[DAVE, CAROL], &seed);
    let amounts: Vec<(u64, u64)> = leaves
        .iter()
        .map(|leaf| (leaf.owner, leaf.amount))
        .collect();
    assert_eq!(amounts, vec![(ALICE, 5), (BOB, 0), (CAROL, 5), (DAVE, 0)]);
    assert!(leaves
        .iter()
        .all(|leaf| leaf.salt == leaf_salt(&seed, &leaf.owner)));
    assert_ne!(leaf_salt(&seed, &ALICE), leaf_salt(&seed, &BOB));
    assert_ne!(leaf_salt(&seed, &ALICE), leaf_salt(&[8u8; 32], &ALICE));
}

/// Builds and commits `HOSPITAL`'s book after `epoch` from every order's delivered records so
/// far, for the owners `enrolled`; returns the tree and its leaves.
fn commit_book(
    epoch: u32,
    delivered: &[(u64, Vec<(H256, u64)>)],
    enrolled: &[u64],
) -> (PayoutTree, Vec<PayoutLeaf<u64, u64>>) {
    let mut entries = Vec::new();
    for (order, records) in delivered {
        let part = PoolOrders::<Test>::iter()
            .find(|((custodian, _, o), _)| *custodian == HOSPITAL && o == order)
            .map(|(_, part)| part)
            .expect("released");
        entries.extend(order_entries(*order, part, records));
    }
    let leaves = cumulative_leaves(&entries, enrolled, &[epoch as u8; 32]);
    let total: u64 = leaves.iter().map(|leaf| leaf.amount).sum();
    let tree = PayoutTree::from_leaves(&leaves);
    assert_ok!(Revenue::commit_root(
        RuntimeOrigin::signed(HOSPITAL),
        HOSPITAL,
        epoch,
        tree.root(),
        total,
        tree.leaf_count()
    ));
    (tree, leaves)
}

#[test]
fn a_book_built_from_delivered_records_pays_every_owner_through_claims() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1_000, 3));
        assert_ok!(release(2, HOSPITAL, 333, 2));
        next_epoch();
        let delivered = vec![
            (
                1,
                vec![(record(9), ALICE), (record(4), BOB), (record(6), ALICE)],
            ),
            (2, vec![(record(2), CAROL), (record(1), BOB)]),
        ];
        let (tree, leaves) = commit_book(0, &delivered, &[DAVE]);
        for (index, leaf) in leaves.iter().enumerate() {
            let index = index as u32;
            let claim = Revenue::claim(
                RuntimeOrigin::signed(HELPER),
                HOSPITAL,
                0,
                index,
                leaf.clone(),
                proof_of(&tree, index),
            );
            if leaf.amount == 0 {
                assert_noop!(claim, Error::<Test>::NothingToClaim);
            } else {
                assert_ok!(claim);
            }
        }
        let earned = Earned::<Test>::get(HOSPITAL).expect("sold");
        assert_eq!(earned.claimed, earned.total);
    });
}

/// Everything anyone can read of the revenue pallet: its storage (payout roots aside, which
/// are salted hashes) and its events.
fn public_view() -> (Vec<(Vec<u8>, Vec<u8>)>, Vec<Event<Test>>) {
    let prefix = frame_support::storage::storage_prefix(b"Revenue", b"PayoutRoots");
    let mut storage = Vec::new();
    let mut key = sp_io::storage::next_key(b"").unwrap_or_default();
    loop {
        if !key.starts_with(&prefix[..16]) || key.starts_with(&prefix) {
            // Other pallets' storage and the roots' hashes stay out.
        } else if let Some(value) = sp_io::storage::get(&key) {
            storage.push((key.clone(), value.to_vec()));
        }
        match sp_io::storage::next_key(&key) {
            Some(next) => key = next,
            None => break,
        }
    }
    let events = System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Revenue(Event::RootCommitted {
                root: _,
                custodian,
                by,
                epoch,
                total,
                leaf_count,
            }) => Some(Event::RootCommitted {
                root: H256::zero(),
                custodian,
                by,
                epoch,
                total,
                leaf_count,
            }),
            RuntimeEvent::Revenue(event) => Some(event),
            _ => None,
        })
        .collect();
    (storage, events)
}

/// Two epochs, one sale each, bought from the owners `first` and then `second` (one record
/// each per sale); four owners enrolled; every owner claims at the end. Returns what is public.
fn two_sales_then_claims(
    first: [u64; 2],
    second: [u64; 2],
) -> (Vec<(Vec<u8>, Vec<u8>)>, Vec<Event<Test>>) {
    let mut view = None;
    new_test_ext().execute_with(|| {
        let enrolled = [ALICE, BOB, CAROL, DAVE];
        let mut delivered = Vec::new();
        let mut trees = Vec::new();
        for (order, owners) in [(1u64, first), (2, second)] {
            assert_ok!(release(order, HOSPITAL, 1_000, 2));
            next_epoch();
            delivered.push((
                order,
                owners
                    .iter()
                    .enumerate()
                    .map(|(i, owner)| (record(order as u8 * 16 + i as u8), *owner))
                    .collect(),
            ));
            trees.push(commit_book(order as u32 - 1, &delivered, &enrolled));
        }
        let (tree, leaves) = &trees[1];
        for (index, leaf) in leaves
            .iter()
            .enumerate()
            .filter(|(_, leaf)| leaf.amount > 0)
        {
            assert_ok!(Revenue::claim(
                RuntimeOrigin::signed(leaf.owner),
                HOSPITAL,
                1,
                index as u32,
                leaf.clone(),
                proof_of(tree, index as u32)
            ));
        }
        check_invariants();
        view = Some(public_view());
    });
    view.expect("ran")
}

#[test]
fn nothing_public_tells_which_owners_were_in_which_sale() {
    // Alice and Bob sold first, then Carol and Dave — or Alice and Carol, then Bob and Dave.
    // Every owner earns the same in both histories, so the chain must not tell them apart.
    let one = two_sales_then_claims([ALICE, BOB], [CAROL, DAVE]);
    let other = two_sales_then_claims([ALICE, CAROL], [BOB, DAVE]);
    assert!(!one.0.is_empty() && !one.1.is_empty());
    assert_eq!(one.0, other.0, "storage differs");
    assert_eq!(one.1, other.1, "events differ");
    // The test can tell them apart when the histories really differ in what owners earn.
    let uneven = two_sales_then_claims([ALICE, ALICE], [BOB, DAVE]);
    assert_ne!(one.0, uneven.0);
}
