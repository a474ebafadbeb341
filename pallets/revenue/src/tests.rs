//! Unit tests of `pallet-revenue`. Every test ends with the pallet's `try_state` invariants and
//! an exact check of the revenue account's balance (see [`crate::mock::run_test`]).

use crate::{merkle::PayoutTree, mock::*, Error, Event, *};
use frame_support::{
    assert_noop, assert_ok,
    dispatch::{CheckIfFeeless, DispatchResult},
    traits::{fungible::Mutate, ConstU32},
    BoundedVec,
};
use pallet_consent::ConsentAnswer;
use sp_core::H256;
use sp_runtime::{DispatchError, Perbill};

type Proof = BoundedVec<H256, ConstU32<MAX_PROOF>>;

fn revenue_events() -> Vec<Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Revenue(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn last_event() -> Event<Test> {
    revenue_events().pop().expect("the pallet emitted an event")
}

/// The split of the test genesis, computed with plain integer arithmetic.
fn expected_split(amount: u64) -> (u64, u64, u64) {
    let owners = amount * 70 / 100;
    let custodian = amount * 20 / 100;
    (owners, custodian, amount - owners - custodian)
}

fn claim_with(
    signer: u64,
    custodian: u64,
    epoch: u32,
    index: u32,
    owner: u64,
    amount: u64,
    proof: Proof,
) -> DispatchResult {
    Revenue::claim(
        RuntimeOrigin::signed(signer),
        custodian,
        epoch,
        index,
        leaf(owner, amount),
        proof,
    )
}

fn claim_call(
    custodian: u64,
    epoch: u32,
    index: u32,
    owner: u64,
    amount: u64,
    proof: Proof,
) -> RuntimeCall {
    RuntimeCall::Revenue(crate::Call::claim {
        custodian,
        epoch,
        index,
        leaf: leaf(owner, amount),
        proof,
    })
}

/// Commits a root of zeros: for the checks that come before the tree matters.
fn commit_zero_root(custodian: u64, epoch: u32, total: u64, leaf_count: u32) -> DispatchResult {
    Revenue::commit_root(
        RuntimeOrigin::signed(custodian),
        custodian,
        epoch,
        H256::zero(),
        total,
        leaf_count,
    )
}

/// The hospital released 1 000 (owners' pool 700) in epoch 0; now in epoch 1.
fn pool_of_700() {
    assert_ok!(release(1, HOSPITAL, 1_000, 3));
    next_epoch();
}

/// `pool_of_700` with a root paying Alice 400, Bob 200 and Carol 100.
fn committed_root() -> PayoutTree {
    pool_of_700();
    commit(HOSPITAL, 0, &[(ALICE, 400), (BOB, 200), (CAROL, 100)], 700)
}

#[test]
fn genesis_endows_the_revenue_account_and_sets_the_shares() {
    run_test(|| {
        assert_eq!(balance(Revenue::account_id()), EXISTENTIAL_DEPOSIT);
        assert_eq!(Shares::<Test>::get(), genesis_shares());
    });
}

#[test]
fn set_shares_by_root_changes_the_split_of_later_releases() {
    run_test(|| {
        let shares = RevenueShares {
            owners: Perbill::from_percent(50),
            custodian: Perbill::from_percent(45),
            treasury: Perbill::from_percent(5),
        };
        assert_ok!(Revenue::set_shares(RuntimeOrigin::root(), shares));
        assert_eq!(last_event(), Event::SharesChanged { shares });
        assert_ok!(release(1, HOSPITAL, 1_000, 1));
        assert_eq!(
            Earned::<Test>::get(HOSPITAL).map(|earned| earned.total),
            Some(500)
        );
    });
}

#[test]
fn set_shares_needs_the_shares_origin() {
    run_test(|| {
        assert_noop!(
            Revenue::set_shares(RuntimeOrigin::signed(HOSPITAL), genesis_shares()),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn set_shares_rejects_shares_not_summing_to_one() {
    run_test(|| {
        for (owners, custodian, treasury) in [(70, 20, 9), (70, 20, 11), (100, 100, 0)] {
            let shares = RevenueShares {
                owners: Perbill::from_percent(owners),
                custodian: Perbill::from_percent(custodian),
                treasury: Perbill::from_percent(treasury),
            };
            assert_noop!(
                Revenue::set_shares(RuntimeOrigin::root(), shares),
                Error::<Test>::SharesNotWhole
            );
        }
    });
}

#[test]
fn release_splits_exactly_and_gives_the_remainder_to_the_treasury() {
    run_test(|| {
        // 1 009 * 0.7 = 706.3 and 1 009 * 0.2 = 201.8: the treasury gets 100.9 + 0.3 + 0.8.
        let hospital_before = balance(HOSPITAL);
        assert_ok!(release(7, HOSPITAL, 1_009, 4));
        let (owners, custodian, treasury) = expected_split(1_009);
        assert_eq!((owners, custodian, treasury), (706, 201, 102));
        assert_eq!(balance(HOSPITAL), hospital_before + custodian);
        assert_eq!(balance(TREASURY), treasury);
        assert_eq!(
            Earned::<Test>::get(HOSPITAL),
            Some(Earnings {
                total: owners,
                latest_epoch: 0,
                in_latest_epoch: owners,
                claimed: 0
            })
        );
        assert_eq!(
            ReleasedOrders::<Test>::get(7),
            Some(ReleasedOrder {
                custodian: HOSPITAL,
                epoch: 0,
                owners_pool: owners
            })
        );
        assert!(revenue_events().contains(&Event::Released {
            order: 7,
            custodian: HOSPITAL,
            epoch: 0,
            amount: 1_009,
            record_count: 4,
            owners_pool: owners,
            custodian_share: custodian,
            treasury_share: treasury,
        }));
        assert_eq!(
            last_event(),
            Event::Paid {
                who: TREASURY,
                amount: treasury
            }
        );
    });
}

#[test]
fn the_parts_always_sum_to_the_released_amount() {
    run_test(|| {
        let shares = RevenueShares {
            owners: Perbill::from_parts(333_333_333),
            custodian: Perbill::from_parts(333_333_333),
            treasury: Perbill::from_parts(333_333_334),
        };
        assert_ok!(Revenue::set_shares(RuntimeOrigin::root(), shares));
        for amount in [0u64, 1, 2, 3, 7, 99, 1_000_001, u64::MAX / 4] {
            let split = shares.split(amount).expect("whole shares split");
            assert_eq!(split.owners + split.custodian + split.treasury, amount);
            assert!(split.owners <= amount / 3 && split.custodian <= amount / 3);
        }
    });
}

#[test]
fn releases_accumulate_per_custodian_and_the_ledger_knows_each_ended_epoch() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 100, 1));
        assert_ok!(release(2, HOSPITAL, 200, 1));
        assert_ok!(release(3, OTHER_HOSPITAL, 1_000, 1));
        next_epoch();
        next_epoch();
        assert_ok!(release(4, HOSPITAL, 10, 1));
        let earned = Earned::<Test>::get(HOSPITAL).expect("the hospital sold");
        assert_eq!(
            (earned.total, earned.latest_epoch, earned.in_latest_epoch),
            (70 + 140 + 7, 2, 7)
        );
        assert_eq!(
            earned.through(0),
            None,
            "older epochs are covered by later roots"
        );
        assert_eq!(earned.through(1), Some(210));
        assert_eq!(earned.through(2), Some(217));
        assert_eq!(earned.through(9), Some(217));
        assert_eq!(
            Earned::<Test>::get(OTHER_HOSPITAL).map(|e| e.total),
            Some(700)
        );
        assert_eq!(PoolOrders::<Test>::get((HOSPITAL, 0, 2)), Some(140));
        assert_eq!(PoolOrders::<Test>::get((HOSPITAL, 2, 4)), Some(7));
    });
}

#[test]
fn releasing_an_order_twice_fails() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 100, 1));
        assert_noop!(
            release(1, HOSPITAL, 100, 1),
            Error::<Test>::OrderAlreadyReleased
        );
    });
}

#[test]
fn release_without_the_money_fails() {
    run_test(|| {
        assert_noop!(
            Revenue::escrow_released(1, &HOSPITAL, 100, 1),
            Error::<Test>::ReleaseNotFunded
        );
    });
}

#[test]
fn small_treasury_shares_accrue_until_payable() {
    run_test(|| {
        // 10 % of 30 is 3, below the deposit of the treasury's non-existent account.
        assert_ok!(release(1, HOSPITAL, 30, 1));
        assert_eq!(Owed::<Test>::get(TREASURY), Some(3));
        assert_eq!(
            last_event(),
            Event::Accrued {
                who: TREASURY,
                amount: 3,
                owed: 3
            }
        );
        assert_eq!(balance(TREASURY), 0);
        assert_ok!(release(2, HOSPITAL, 30, 1));
        assert_eq!(Owed::<Test>::get(TREASURY), None);
        assert_eq!(balance(TREASURY), 6);
        assert_eq!(
            last_event(),
            Event::Paid {
                who: TREASURY,
                amount: 6
            }
        );
    });
}

#[test]
fn commit_root_stores_the_root_of_the_earnings_so_far() {
    run_test(|| {
        pool_of_700();
        let tree = commit(HOSPITAL, 0, &[(ALICE, 400), (BOB, 300)], 700);
        assert_eq!(
            PayoutRoots::<Test>::get(HOSPITAL, 0),
            Some(PayoutRoot {
                root: tree.root(),
                total: 700,
                leaf_count: 2,
                rejected: false,
            })
        );
        assert_eq!(LatestRoot::<Test>::get(HOSPITAL), Some(0));
        assert_eq!(
            last_event(),
            Event::RootCommitted {
                custodian: HOSPITAL,
                by: HOSPITAL,
                epoch: 0,
                root: tree.root(),
                total: 700,
                leaf_count: 2
            }
        );
    });
}

#[test]
fn a_later_root_covers_every_earlier_sale_and_roots_come_in_order() {
    run_test(|| {
        committed_root();
        assert_ok!(release(2, HOSPITAL, 100, 1));
        next_epoch();
        next_epoch();
        // Epoch 0 has its root; epoch 1 sold 70 more; now in epoch 2.
        assert_noop!(
            commit_zero_root(HOSPITAL, 1, 70, 3),
            Error::<Test>::TotalMismatch
        );
        assert_ok!(commit_zero_root(HOSPITAL, 2, 770, 3));
        assert_noop!(
            commit_zero_root(HOSPITAL, 1, 770, 3),
            Error::<Test>::RootAlreadyCommitted
        );
        assert_ok!(release(3, HOSPITAL, 10, 1));
        next_epoch();
        next_epoch();
        assert_ok!(release(4, HOSPITAL, 10, 1));
        // Sold in epochs 3 and 5: epoch 3's total is no longer known, epoch 4's is.
        assert_noop!(
            commit_zero_root(HOSPITAL, 3, 777, 3),
            Error::<Test>::EpochTooOld
        );
        assert_ok!(commit_zero_root(HOSPITAL, 4, 777, 3));
    });
}

#[test]
fn commit_root_needs_new_earnings() {
    run_test(|| {
        committed_root();
        next_epoch();
        assert_noop!(
            commit_zero_root(HOSPITAL, 1, 700, 3),
            Error::<Test>::NothingNewEarned
        );
    });
}

#[test]
fn commit_root_waits_for_the_end_of_the_epoch() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1_000, 1));
        System::set_block_number(EPOCH_LENGTH - 1);
        assert_noop!(
            commit_zero_root(HOSPITAL, 0, 700, 1),
            Error::<Test>::EpochNotEnded
        );
    });
}

#[test]
fn commit_root_rejects_a_total_that_is_not_the_earnings() {
    run_test(|| {
        pool_of_700();
        for total in [699, 701, 0] {
            assert_noop!(
                commit_zero_root(HOSPITAL, 0, total, 1),
                Error::<Test>::TotalMismatch
            );
        }
    });
}

#[test]
fn commit_root_rejects_a_second_root_for_the_epoch() {
    run_test(|| {
        committed_root();
        assert_noop!(
            commit_zero_root(HOSPITAL, 0, 700, 1),
            Error::<Test>::RootAlreadyCommitted
        );
    });
}

#[test]
fn commit_root_needs_earnings_of_the_signer() {
    run_test(|| {
        pool_of_700();
        assert_noop!(
            commit_zero_root(OTHER_HOSPITAL, 0, 700, 1),
            Error::<Test>::NothingEarned
        );
        assert_noop!(
            commit_zero_root(HOSPITAL, 1, 0, 1),
            Error::<Test>::EpochNotEnded
        );
    });
}

#[test]
fn commit_root_bounds_the_leaf_count() {
    run_test(|| {
        pool_of_700();
        for leaf_count in [0, (1 << MAX_PROOF) + 1, u32::MAX] {
            assert_noop!(
                commit_zero_root(HOSPITAL, 0, 700, leaf_count),
                Error::<Test>::BadLeafCount
            );
        }
        assert_ok!(commit_zero_root(HOSPITAL, 0, 700, 1 << MAX_PROOF));
    });
}

#[test]
fn claims_pay_each_owner_their_leaf() {
    run_test(|| {
        let tree = committed_root();
        for (index, (owner, amount)) in [(ALICE, 400), (BOB, 200), (CAROL, 100)]
            .into_iter()
            .enumerate()
        {
            let index = index as u32;
            assert_ok!(claim_with(
                owner,
                HOSPITAL,
                0,
                index,
                owner,
                amount,
                proof_of(&tree, index)
            ));
            assert_eq!(balance(owner), amount);
            assert_eq!(Revenue::claimed(&owner), amount);
            let events = revenue_events();
            assert_eq!(
                events[events.len() - 2..],
                [
                    Event::Claimed {
                        custodian: HOSPITAL,
                        owner,
                        amount,
                        claimed: amount
                    },
                    Event::Paid { who: owner, amount },
                ]
            );
        }
        assert_eq!(
            Earned::<Test>::get(HOSPITAL).map(|earned| earned.claimed),
            Some(700)
        );
    });
}

#[test]
fn a_third_party_claim_pays_the_owner() {
    run_test(|| {
        let tree = committed_root();
        let helper_before = balance(HELPER);
        assert_ok!(claim_with(
            HELPER,
            HOSPITAL,
            0,
            1,
            BOB,
            200,
            proof_of(&tree, 1)
        ));
        assert_eq!(balance(BOB), 200);
        assert_eq!(balance(HELPER), helper_before);
        assert_eq!(MockFreeCalls::used(&HELPER), 0);
        assert_eq!(MockFreeCalls::used(&BOB), 0);
    });
}

/// Each claim `(custodian, epoch, index, owner, amount, proof)`, submitted by the owner, fails
/// with `error` and changes nothing.
fn assert_claims_fail(claims: Vec<(u64, u32, u32, u64, u64, Proof)>, error: Error<Test>) {
    let error: DispatchError = error.into();
    for (custodian, epoch, index, owner, amount, proof) in claims {
        assert_noop!(
            claim_with(owner, custodian, epoch, index, owner, amount, proof),
            error
        );
    }
}

#[test]
fn a_claim_with_a_bad_proof_fails() {
    run_test(|| {
        let tree = committed_root();
        let mut short = proof_of(&tree, 0);
        short.pop();
        let mut long = proof_of(&tree, 0);
        long.try_push(H256::zero()).expect("room for one more");
        assert_claims_fail(
            vec![
                (HOSPITAL, 0, 0, ALICE, 401, proof_of(&tree, 0)),
                (HOSPITAL, 0, 0, BOB, 400, proof_of(&tree, 0)),
                (HOSPITAL, 0, 0, ALICE, 400, proof_of(&tree, 1)),
                (HOSPITAL, 0, 0, ALICE, 400, short),
                (HOSPITAL, 0, 0, ALICE, 400, long),
            ],
            Error::<Test>::InvalidProof,
        );
    });
}

#[test]
fn a_leaf_pays_once_and_a_later_leaf_only_what_was_earned_since() {
    run_test(|| {
        let first = committed_root();
        assert_ok!(claim_with(
            HELPER,
            HOSPITAL,
            0,
            0,
            ALICE,
            400,
            proof_of(&first, 0)
        ));
        assert_eq!(ClaimedFrom::<Test>::get(ALICE, HOSPITAL), Some(400));
        assert_eq!(ClaimedFrom::<Test>::get(BOB, HOSPITAL), None);
        assert_claims_fail(
            vec![(HOSPITAL, 0, 0, ALICE, 400, proof_of(&first, 0))],
            Error::<Test>::NothingToClaim,
        );
        assert_ok!(release(2, HOSPITAL, 100, 1));
        next_epoch();
        let second = commit(HOSPITAL, 1, &[(ALICE, 470), (BOB, 200), (CAROL, 100)], 770);
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            1,
            0,
            ALICE,
            470,
            proof_of(&second, 0)
        ));
        assert_eq!(balance(ALICE), 470);
        assert_eq!(
            revenue_events()[revenue_events().len() - 2],
            Event::Claimed {
                custodian: HOSPITAL,
                owner: ALICE,
                amount: 70,
                claimed: 470
            }
        );
        // Bob claims his unchanged balance from the older root.
        assert_ok!(claim_with(
            BOB,
            HOSPITAL,
            0,
            1,
            BOB,
            200,
            proof_of(&first, 1)
        ));
        assert_claims_fail(
            vec![(HOSPITAL, 1, 1, BOB, 200, proof_of(&second, 1))],
            Error::<Test>::NothingToClaim,
        );
    });
}

#[test]
fn a_rejected_root_pays_nothing_more_and_may_be_replaced() {
    run_test(|| {
        pool_of_700();
        // A wrong root: Alice is promised Bob's money.
        let wrong = commit(HOSPITAL, 0, &[(ALICE, 600), (BOB, 100)], 700);
        assert_noop!(
            Revenue::reject_root(RuntimeOrigin::signed(ALICE), HOSPITAL, 0),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Revenue::reject_root(RuntimeOrigin::root(), HOSPITAL, 1),
            Error::<Test>::NoSuchRoot
        );
        assert_ok!(Revenue::reject_root(RuntimeOrigin::root(), HOSPITAL, 0));
        assert_eq!(
            last_event(),
            Event::RootRejected {
                custodian: HOSPITAL,
                epoch: 0
            }
        );
        assert_noop!(
            Revenue::reject_root(RuntimeOrigin::root(), HOSPITAL, 0),
            Error::<Test>::RootRejected
        );
        assert_claims_fail(
            vec![(HOSPITAL, 0, 0, ALICE, 600, proof_of(&wrong, 0))],
            Error::<Test>::RootRejected,
        );
        let right = commit(HOSPITAL, 0, &[(ALICE, 400), (BOB, 300)], 700);
        assert_eq!(
            PayoutRoots::<Test>::get(HOSPITAL, 0).map(|r| r.rejected),
            Some(false)
        );
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            0,
            0,
            ALICE,
            400,
            proof_of(&right, 0)
        ));
        assert_noop!(
            commit_zero_root(HOSPITAL, 0, 700, 2),
            Error::<Test>::RootAlreadyCommitted
        );
    });
}

#[test]
fn claims_never_exceed_the_root_total() {
    run_test(|| {
        pool_of_700();
        // A custodian's tree promising 900 out of a pool of 700.
        let tree = commit(HOSPITAL, 0, &[(ALICE, 500), (BOB, 400)], 700);
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            0,
            0,
            ALICE,
            500,
            proof_of(&tree, 0)
        ));
        assert_claims_fail(
            vec![(HOSPITAL, 0, 1, BOB, 400, proof_of(&tree, 1))],
            Error::<Test>::ExceedsRootTotal,
        );
        assert_eq!(balance(BOB), 0);
    });
}

/// After `committed_root`, a second root with an enrolled owner (Dave) who earned nothing.
fn commit_zero_leaf_root() -> PayoutTree {
    assert_ok!(release(2, HOSPITAL, 100, 1));
    next_epoch();
    commit(
        HOSPITAL,
        1,
        &[(ALICE, 470), (DAVE, 0), (BOB, 200), (CAROL, 100)],
        770,
    )
}

#[test]
fn claims_need_a_root_a_leaf_in_range_and_something_to_claim() {
    run_test(|| {
        let tree = committed_root();
        assert_claims_fail(
            vec![
                (OTHER_HOSPITAL, 0, 0, ALICE, 400, proof_of(&tree, 0)),
                (HOSPITAL, 1, 0, ALICE, 400, proof_of(&tree, 0)),
            ],
            Error::<Test>::NoSuchRoot,
        );
        assert_claims_fail(
            vec![(HOSPITAL, 0, 3, ALICE, 400, proof_of(&tree, 0))],
            Error::<Test>::LeafIndexOutOfRange,
        );
        let zero = commit_zero_leaf_root();
        assert_claims_fail(
            vec![(HOSPITAL, 1, 1, DAVE, 0, proof_of(&zero, 1))],
            Error::<Test>::NothingToClaim,
        );
    });
}

#[test]
fn a_claim_below_the_deposit_accrues_and_later_pays_out() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 10, 1));
        next_epoch();
        assert_ok!(release(2, HOSPITAL, 10, 1));
        next_epoch();
        // Epoch 0's root, then epoch 1's root with both epochs' earnings.
        let first = commit(HOSPITAL, 0, &[(ALICE, 3), (BOB, 4)], 7);
        let second = commit(HOSPITAL, 1, &[(BOB, 7), (ALICE, 7)], 14);

        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            0,
            0,
            ALICE,
            3,
            proof_of(&first, 0)
        ));
        assert_eq!(balance(ALICE), 0);
        assert_eq!(Revenue::claimable(&ALICE), 3);
        assert_eq!(
            last_event(),
            Event::Accrued {
                who: ALICE,
                amount: 3,
                owed: 3
            }
        );

        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            1,
            1,
            ALICE,
            7,
            proof_of(&second, 1)
        ));
        assert_eq!(balance(ALICE), 7);
        assert_eq!(Revenue::claimable(&ALICE), 0);
        assert_eq!(Revenue::claimed(&ALICE), 7);
        assert_eq!(
            last_event(),
            Event::Paid {
                who: ALICE,
                amount: 7
            }
        );
    });
}

#[test]
fn pay_owed_pays_once_the_account_exists() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 10, 1));
        next_epoch();
        let tree = commit(HOSPITAL, 0, &[(ALICE, 3), (BOB, 4)], 7);
        assert_ok!(claim_with(
            HELPER,
            HOSPITAL,
            0,
            1,
            BOB,
            4,
            proof_of(&tree, 1)
        ));
        assert_noop!(
            Revenue::pay_owed(RuntimeOrigin::signed(HELPER), BOB),
            Error::<Test>::BelowMinimum
        );
        assert_noop!(
            Revenue::pay_owed(RuntimeOrigin::signed(HELPER), ALICE),
            Error::<Test>::NothingOwed
        );

        assert_ok!(Balances::mint_into(&BOB, EXISTENTIAL_DEPOSIT));
        assert_ok!(Revenue::pay_owed(RuntimeOrigin::signed(HELPER), BOB));
        assert_eq!(balance(BOB), EXISTENTIAL_DEPOSIT + 4);
        assert_eq!(Owed::<Test>::get(BOB), None);
        assert_eq!(
            last_event(),
            Event::Paid {
                who: BOB,
                amount: 4
            }
        );
        assert_noop!(
            Revenue::pay_owed(RuntimeOrigin::signed(BOB), BOB),
            Error::<Test>::NothingOwed
        );
    });
}

#[test]
fn owners_claims_are_free_when_they_would_succeed() {
    run_test(|| {
        let tree = committed_root();
        let call = || claim_call(HOSPITAL, 0, 0, ALICE, 400, proof_of(&tree, 0));
        assert!(call().is_feeless(&RuntimeOrigin::signed(ALICE)));
        assert!(
            !call().is_feeless(&RuntimeOrigin::signed(HELPER)),
            "not the owner"
        );
        assert!(!call().is_feeless(&RuntimeOrigin::root()), "not signed");
        assert!(
            !claim_call(HOSPITAL, 0, 0, ALICE, 401, proof_of(&tree, 0))
                .is_feeless(&RuntimeOrigin::signed(ALICE)),
            "would fail"
        );
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            0,
            0,
            ALICE,
            400,
            proof_of(&tree, 0)
        ));
        assert!(
            !call().is_feeless(&RuntimeOrigin::signed(ALICE)),
            "already claimed"
        );
    });
}

#[test]
fn pay_owed_is_free_for_the_owner_when_payable() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 10, 1));
        next_epoch();
        let tree = commit(HOSPITAL, 0, &[(ALICE, 3), (BOB, 4)], 7);
        assert_ok!(claim_with(
            HELPER,
            HOSPITAL,
            0,
            0,
            ALICE,
            3,
            proof_of(&tree, 0)
        ));
        let call = RuntimeCall::Revenue(crate::Call::pay_owed { who: ALICE });
        assert!(
            !call.is_feeless(&RuntimeOrigin::signed(ALICE)),
            "not payable yet"
        );
        assert_ok!(Balances::mint_into(&ALICE, EXISTENTIAL_DEPOSIT));
        assert!(call.is_feeless(&RuntimeOrigin::signed(ALICE)));
        assert!(
            !call.is_feeless(&RuntimeOrigin::signed(HELPER)),
            "not the owner"
        );
        assert_ok!(Revenue::pay_owed(RuntimeOrigin::signed(ALICE), ALICE));
        assert_eq!(MockFreeCalls::used(&ALICE), 1);
    });
}

#[test]
fn rate_limited_owners_lose_free_claims_until_the_next_window() {
    run_test(|| {
        // One sale and one root per epoch; Alice claims what each added.
        let mut roots = Vec::new();
        for epoch in 0..=MAX_FREE_CALLS {
            assert_ok!(release(u64::from(epoch) + 1, HOSPITAL, 100, 1));
            next_epoch();
            let alice = 70 * (u64::from(epoch) + 1);
            roots.push(commit(HOSPITAL, epoch, &[(ALICE, alice)], alice));
        }
        let claim_of = |epoch: u32| {
            let alice = 70 * (u64::from(epoch) + 1);
            (
                claim_call(
                    HOSPITAL,
                    epoch,
                    0,
                    ALICE,
                    alice,
                    proof_of(&roots[epoch as usize], 0),
                ),
                alice,
            )
        };
        for epoch in 0..MAX_FREE_CALLS {
            let (call, alice) = claim_of(epoch);
            assert!(call.is_feeless(&RuntimeOrigin::signed(ALICE)));
            let proof = proof_of(&roots[epoch as usize], 0);
            assert_ok!(claim_with(ALICE, HOSPITAL, epoch, 0, ALICE, alice, proof));
        }
        let last = MAX_FREE_CALLS;
        assert!(!claim_of(last).0.is_feeless(&RuntimeOrigin::signed(ALICE)));
        // Still allowed, paid for (or submitted by someone else).
        System::set_block_number(System::block_number() + WINDOW);
        assert!(claim_of(last).0.is_feeless(&RuntimeOrigin::signed(ALICE)));
        let proof = proof_of(&roots[last as usize], 0);
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            last,
            0,
            ALICE,
            claim_of(last).1,
            proof
        ));
        assert_eq!(balance(ALICE), 70 * (u64::from(last) + 1));
    });
}

#[test]
fn unclaimed_revenue_stays_claimable_in_later_epochs() {
    run_test(|| {
        let tree = committed_root();
        System::set_block_number(50 * EPOCH_LENGTH);
        assert_ok!(release(2, HOSPITAL, 1_000, 1));
        assert_ok!(claim_with(
            CAROL,
            HOSPITAL,
            0,
            2,
            CAROL,
            100,
            proof_of(&tree, 2)
        ));
        assert_eq!(balance(CAROL), 100);
    });
}

#[test]
fn claim_checks_answer_like_the_claim_without_changing_state() {
    run_test(|| {
        let tree = committed_root();
        let proof = tree.proof(0).expect("leaf 0");
        let verify = |amount| {
            Revenue::ensure_can_claim(&HOSPITAL, 0, 0, &leaf(ALICE, amount), &proof)
                .map_err(DispatchError::from)
        };
        assert_eq!(verify(400), Ok(400));
        assert_eq!(verify(401), Err(Error::<Test>::InvalidProof.into()));
        assert_eq!(ClaimedFrom::<Test>::get(ALICE, HOSPITAL), None);
        assert_ok!(claim_with(
            ALICE,
            HOSPITAL,
            0,
            0,
            ALICE,
            400,
            proof_of(&tree, 0)
        ));
        assert_eq!(verify(400), Err(Error::<Test>::NothingToClaim.into()));
    });
}

#[test]
fn audit_entry_checks_the_order_and_the_consent_at_a_block() {
    run_test(|| {
        let record = H256::repeat_byte(1);
        assert_ok!(release(5, HOSPITAL, 1_000, 1));
        KnownOrders::set(vec![5]);
        Consented::set(vec![(5, ALICE, record, 3)]);
        let entry = PayoutEntry {
            order: 5,
            record,
            owner: ALICE,
            amount: 700,
        };

        let audit = Revenue::audit_entry(&HOSPITAL, 0, &entry, 3);
        assert_eq!(
            audit,
            EntryAudit {
                order_in_epoch: true,
                consent: Some(ConsentAnswer::Covered { consent: 1 })
            }
        );
        assert_eq!(
            Revenue::audit_entry(&HOSPITAL, 0, &entry, 2).consent,
            Some(ConsentAnswer::NotCovered)
        );
        assert!(!Revenue::audit_entry(&OTHER_HOSPITAL, 0, &entry, 3).order_in_epoch);
        assert!(!Revenue::audit_entry(&HOSPITAL, 1, &entry, 3).order_in_epoch);
        let unknown = PayoutEntry { order: 6, ..entry };
        assert_eq!(
            Revenue::audit_entry(&HOSPITAL, 0, &unknown, 3),
            EntryAudit {
                order_in_epoch: false,
                consent: None
            }
        );
    });
}

#[test]
fn try_state_detects_a_broken_balance_sheet() {
    run_test(|| {
        committed_root();
        PayoutRoots::<Test>::mutate(HOSPITAL, 0, |root| {
            if let Some(root) = root {
                root.total += 1;
            }
        });
        assert!(Revenue::do_try_state().is_err());
        PayoutRoots::<Test>::mutate(HOSPITAL, 0, |root| {
            if let Some(root) = root {
                root.total -= 1;
            }
        });
    });
}

#[test]
fn a_root_over_100_000_owners_pays_claims_with_17_sibling_proofs() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 10_000_000, 100));
        next_epoch();
        let pool = Earned::<Test>::get(HOSPITAL)
            .expect("the release earned")
            .total;
        let mut payouts: Vec<(u64, u64)> = (0..100_000u64)
            .map(|i| (1_000 + i, EXISTENTIAL_DEPOSIT + i % 50))
            .collect();
        let others: u64 = payouts[..99_999].iter().map(|(_, amount)| amount).sum();
        payouts[99_999].1 = pool - others;
        let tree = commit(HOSPITAL, 0, &payouts, pool);

        for index in [0u32, 31_337, 65_535, 65_536, 99_999] {
            let (owner, amount) = payouts[index as usize];
            let proof = proof_of(&tree, index);
            assert!(proof.len() <= 17);
            assert_ok!(claim_with(HELPER, HOSPITAL, 0, index, owner, amount, proof));
            assert_eq!(balance(owner), amount);
        }
        assert_eq!(tree.proof(0).map(|proof| proof.len()), Some(17));
    });
}

fn report(custodian: u64) -> DispatchResult {
    Revenue::report_overdue_root(RuntimeOrigin::signed(HELPER), custodian)
}

#[test]
fn a_root_is_due_a_deadline_after_the_epoch_of_a_sale_and_may_be_reported_once_overdue() {
    run_test(|| {
        assert_noop!(report(HOSPITAL), Error::<Test>::NoRootDue);
        // Sold in epoch 0 (blocks 0..10): the root is due at block 10 + ROOT_DEADLINE.
        assert_ok!(release(1, HOSPITAL, 1_000, 1));
        let due = EPOCH_LENGTH + ROOT_DEADLINE;
        assert_eq!(RootDue::<Test>::get(HOSPITAL).map(|d| d.due), Some(due));
        // A later sale before the root does not move the deadline.
        next_epoch();
        assert_ok!(release(2, HOSPITAL, 100, 1));
        assert_eq!(RootDue::<Test>::get(HOSPITAL).map(|d| d.due), Some(due));
        System::set_block_number(due);
        assert_noop!(report(HOSPITAL), Error::<Test>::RootNotOverdue);
        System::set_block_number(due + 1);
        assert_ok!(report(HOSPITAL));
        assert_eq!(
            last_event(),
            Event::RootOverdue {
                custodian: HOSPITAL,
                due
            }
        );
        assert_noop!(report(HOSPITAL), Error::<Test>::OverdueReported);
        assert_noop!(report(OTHER_HOSPITAL), Error::<Test>::NoRootDue);
    });
}

#[test]
fn a_root_covering_every_sale_ends_the_deadline_and_a_partial_one_moves_it() {
    run_test(|| {
        assert_ok!(release(1, HOSPITAL, 1_000, 1));
        next_epoch();
        assert_ok!(release(2, HOSPITAL, 100, 1));
        next_epoch();
        assert_ok!(release(3, HOSPITAL, 100, 1));
        // Now in epoch 2: a root after epoch 1 leaves epoch 2's sale for the next one.
        assert_ok!(commit_zero_root(HOSPITAL, 1, 770, 2));
        assert_eq!(
            RootDue::<Test>::get(HOSPITAL),
            Some(RootDeadline {
                due: 3 * EPOCH_LENGTH + ROOT_DEADLINE,
                reported: false
            })
        );
        next_epoch();
        assert_ok!(commit_zero_root(HOSPITAL, 2, 840, 2));
        assert_eq!(RootDue::<Test>::get(HOSPITAL), None);
        assert_noop!(report(HOSPITAL), Error::<Test>::NoRootDue);
    });
}

#[test]
fn rejecting_the_latest_root_makes_a_new_one_due() {
    run_test(|| {
        committed_root();
        assert_eq!(RootDue::<Test>::get(HOSPITAL), None);
        System::set_block_number(40);
        assert_ok!(Revenue::reject_root(RuntimeOrigin::root(), HOSPITAL, 0));
        assert_eq!(
            RootDue::<Test>::get(HOSPITAL).map(|d| d.due),
            Some(40 + ROOT_DEADLINE)
        );
        commit(HOSPITAL, 0, &[(ALICE, 700)], 700);
        assert_eq!(RootDue::<Test>::get(HOSPITAL), None);
    });
}
