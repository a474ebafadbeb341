//! Property test: random releases, share changes, cumulative roots (honest and over-promising),
//! rejections, claims by owners and third parties and ledger payouts, against a model of every
//! account's balance written with plain integer arithmetic.

use crate::{merkle::PayoutTree, mock::*, Error, RevenueShares};
use frame_support::{assert_ok, traits::ConstU32, BoundedVec};
use proptest::prelude::*;
use sp_runtime::{DispatchError, Perbill};
use std::collections::BTreeMap;

const CUSTODIANS: [u64; 2] = [HOSPITAL, OTHER_HOSPITAL];
const OWNERS: [u64; 5] = [ALICE, BOB, CAROL, 13, 14];
const BILLION: u64 = 1_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Release {
        custodian: usize,
        amount: u64,
    },
    SetShares {
        owners: u64,
        custodian: u64,
    },
    NextEpoch,
    /// Commit the custodian's root of the last ended epoch, its earnings split by `weights`
    /// among owners; when `overpromise` the leaves add `extra` beyond the earnings.
    Commit {
        custodian: usize,
        weights: Vec<(usize, u64)>,
        overpromise: bool,
        extra: u64,
    },
    /// Claim leaf `leaf` of root `root` (indices taken modulo what exists).
    Claim {
        root: usize,
        leaf: usize,
        by_owner: bool,
        tamper: bool,
    },
    PayOwed {
        owner: usize,
    },
    /// The consortium rejects root `root` (modulo what exists).
    Reject {
        root: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let release =
        (0..2usize, 0..3_000u64).prop_map(|(custodian, amount)| Op::Release { custodian, amount });
    // Two cut points in [0, 1e9] give the owners' and custodian's parts.
    let set_shares = (0..=BILLION, 0..=BILLION).prop_map(|(a, b)| Op::SetShares {
        owners: a.min(b),
        custodian: a.max(b) - a.min(b),
    });
    let weights = prop::collection::vec((0..5usize, 0..10u64), 1..6);
    let commit = (0..2usize, weights, prop::bool::weighted(0.2), 1..50u64).prop_map(
        |(custodian, weights, overpromise, extra)| Op::Commit {
            custodian,
            weights,
            overpromise,
            extra,
        },
    );
    let claim = (
        0..8usize,
        0..8usize,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(root, leaf, by_owner, tamper)| Op::Claim {
            root,
            leaf,
            by_owner,
            tamper,
        });
    prop_oneof![
        4 => release,
        1 => set_shares,
        2 => Just(Op::NextEpoch),
        2 => commit,
        6 => claim,
        1 => (0..5usize).prop_map(|owner| Op::PayOwed { owner }),
        1 => (0..8usize).prop_map(|root| Op::Reject { root }),
    ]
}

/// A committed root as the model sees it.
struct ModelRoot {
    custodian: u64,
    epoch: u32,
    tree: PayoutTree,
    /// (owner, cumulative amount) per leaf.
    payouts: Vec<(u64, u64)>,
    total: u64,
    rejected: bool,
}

#[derive(Default)]
struct Model {
    balances: BTreeMap<u64, u64>,
    owed: BTreeMap<u64, u64>,
    /// (owners, custodian) shares in parts per billion; the treasury takes the rest.
    shares: (u64, u64),
    /// Owners' parts released per (custodian, epoch).
    released: BTreeMap<(u64, u32), u64>,
    roots: Vec<ModelRoot>,
    /// (owner, custodian) → claimed.
    claimed_from: BTreeMap<(u64, u64), u64>,
    next_order: u64,
}

impl Model {
    fn balance(&self, who: u64) -> u64 {
        self.balances.get(&who).copied().unwrap_or(0)
    }

    fn earned(&self, custodian: u64, through: u32) -> u64 {
        self.released
            .iter()
            .filter(|((c, e), _)| *c == custodian && *e <= through)
            .map(|(_, amount)| amount)
            .sum()
    }

    fn claimed_from(&self, custodian: u64) -> u64 {
        self.claimed_from
            .iter()
            .filter(|((_, c), _)| *c == custodian)
            .map(|(_, amount)| amount)
            .sum()
    }

    fn latest_root(&self, custodian: u64) -> Option<&ModelRoot> {
        self.roots
            .iter()
            .filter(|root| root.custodian == custodian)
            .max_by_key(|root| root.epoch)
    }

    /// Pays `who` what it is owed plus `amount` if its account can take it, else owes it.
    fn pay_or_accrue(&mut self, who: u64, amount: u64) {
        if amount == 0 {
            return;
        }
        let due = self.owed.remove(&who).unwrap_or(0) + amount;
        if self.balance(who) > 0 || due >= EXISTENTIAL_DEPOSIT {
            *self.balances.entry(who).or_default() += due;
        } else {
            self.owed.insert(who, due);
        }
    }
}

fn current_epoch() -> u32 {
    (System::block_number() / EPOCH_LENGTH) as u32
}

fn proof(tree: &PayoutTree, index: u32) -> BoundedVec<sp_core::H256, ConstU32<MAX_PROOF>> {
    proof_of(tree, index)
}

fn apply(model: &mut Model, op: Op) {
    match op {
        Op::Release { custodian, amount } => {
            let custodian = CUSTODIANS[custodian];
            let order = model.next_order;
            model.next_order += 1;
            assert_ok!(release(order, custodian, amount, 1));
            *model.balances.entry(BUYER).or_default() -= amount;
            let owners =
                (u128::from(amount) * u128::from(model.shares.0) / u128::from(BILLION)) as u64;
            let custodian_share =
                (u128::from(amount) * u128::from(model.shares.1) / u128::from(BILLION)) as u64;
            if owners > 0 {
                *model
                    .released
                    .entry((custodian, current_epoch()))
                    .or_default() += owners;
            }
            model.pay_or_accrue(custodian, custodian_share);
            model.pay_or_accrue(TREASURY, amount - owners - custodian_share);
        }
        Op::SetShares { owners, custodian } => {
            let shares = RevenueShares {
                owners: Perbill::from_parts(owners as u32),
                custodian: Perbill::from_parts(custodian as u32),
                treasury: Perbill::from_parts((BILLION - owners - custodian) as u32),
            };
            assert_ok!(Revenue::set_shares(RuntimeOrigin::root(), shares));
            model.shares = (owners, custodian);
        }
        Op::NextEpoch => next_epoch(),
        Op::Commit {
            custodian,
            weights,
            overpromise,
            extra,
        } => {
            let custodian = CUSTODIANS[custodian];
            let Some(epoch) = current_epoch().checked_sub(1) else {
                return;
            };
            let total = model.earned(custodian, epoch);
            // Split the earnings by weight; the first leaf takes the rounding rest.
            let weight_sum: u64 = weights.iter().map(|(_, w)| w).sum::<u64>().max(1);
            let mut payouts: Vec<(u64, u64)> = weights
                .iter()
                .map(|(o, w)| (OWNERS[*o], total * w / weight_sum))
                .collect();
            let rest = total - payouts.iter().map(|(_, a)| a).sum::<u64>();
            payouts[0].1 += rest + if overpromise { extra } else { 0 };
            let latest = model.latest_root(custodian);
            let expected: Result<(), DispatchError> =
                if !model.released.keys().any(|(c, _)| *c == custodian) {
                    Err(Error::<Test>::NothingEarned.into())
                } else if latest.is_some_and(|root| {
                    root.epoch > epoch || (root.epoch == epoch && !root.rejected)
                }) {
                    Err(Error::<Test>::RootAlreadyCommitted.into())
                } else if total == 0 {
                    Err(Error::<Test>::NothingEarned.into())
                } else if latest.is_some_and(|root| !root.rejected && root.total >= total) {
                    Err(Error::<Test>::NothingNewEarned.into())
                } else {
                    Ok(())
                };
            let leaves: Vec<_> = payouts.iter().map(|(o, a)| leaf(*o, *a)).collect();
            let tree = PayoutTree::from_leaves(&leaves);
            let result = Revenue::commit_root(
                RuntimeOrigin::signed(custodian),
                custodian,
                epoch,
                tree.root(),
                total,
                tree.leaf_count(),
            );
            assert_eq!(result, expected, "commit after epoch {epoch}");
            if result.is_ok() {
                model
                    .roots
                    .retain(|root| !(root.custodian == custodian && root.epoch == epoch));
                model.roots.push(ModelRoot {
                    custodian,
                    epoch,
                    tree,
                    payouts,
                    total,
                    rejected: false,
                });
            }
        }
        Op::Claim {
            root,
            leaf: leaf_index,
            by_owner,
            tamper,
        } => {
            if model.roots.is_empty() {
                return;
            }
            let index = root % model.roots.len();
            let root = &model.roots[index];
            let position = (leaf_index % root.payouts.len()) as u32;
            let (owner, amount) = root.payouts[position as usize];
            let claimed_amount = if tamper { amount + 1 } else { amount };
            let signer = if by_owner { owner } else { HELPER };
            let result = Revenue::claim(
                RuntimeOrigin::signed(signer),
                root.custodian,
                root.epoch,
                position,
                leaf(owner, claimed_amount),
                proof(&root.tree, position),
            );
            let already = model
                .claimed_from
                .get(&(owner, root.custodian))
                .copied()
                .unwrap_or(0);
            let expected: Result<(), DispatchError> = if root.rejected {
                Err(Error::<Test>::RootRejected.into())
            } else if tamper {
                Err(Error::<Test>::InvalidProof.into())
            } else if amount <= already {
                Err(Error::<Test>::NothingToClaim.into())
            } else if model.claimed_from(root.custodian) + amount - already > root.total {
                Err(Error::<Test>::ExceedsRootTotal.into())
            } else {
                Ok(())
            };
            assert_eq!(result, expected, "claim of leaf {position}");
            if result.is_ok() {
                let custodian = root.custodian;
                model.claimed_from.insert((owner, custodian), amount);
                model.pay_or_accrue(owner, amount - already);
            }
        }
        Op::Reject { root } => {
            if model.roots.is_empty() {
                return;
            }
            let index = root % model.roots.len();
            let root = &mut model.roots[index];
            let result = Revenue::reject_root(RuntimeOrigin::root(), root.custodian, root.epoch);
            if root.rejected {
                assert_eq!(result, Err(Error::<Test>::RootRejected.into()));
            } else {
                assert_ok!(result);
                root.rejected = true;
            }
        }
        Op::PayOwed { owner } => {
            let owner = OWNERS[owner];
            let result = Revenue::pay_owed(RuntimeOrigin::signed(HELPER), owner);
            match model.owed.get(&owner).copied() {
                None => assert_eq!(result, Err(Error::<Test>::NothingOwed.into())),
                Some(_) => assert_eq!(
                    result,
                    Err(Error::<Test>::BelowMinimum.into()),
                    "owed stays below the deposit"
                ),
            }
        }
    }
}

fn check_model(model: &Model) {
    let accounts = CUSTODIANS
        .into_iter()
        .chain(OWNERS)
        .chain([BUYER, HELPER, TREASURY]);
    for who in accounts {
        assert_eq!(balance(who), model.balance(who), "balance of account {who}");
        assert_eq!(
            Revenue::claimable(&who),
            model.owed.get(&who).copied().unwrap_or(0)
        );
    }
    let unclaimed: u64 =
        model.released.values().sum::<u64>() - model.claimed_from.values().sum::<u64>();
    let owed: u64 = model.owed.values().sum();
    assert_eq!(
        balance(Revenue::account_id()),
        EXISTENTIAL_DEPOSIT + unclaimed + owed
    );
    check_invariants();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_balance_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        new_test_ext().execute_with(|| {
            let mut model = Model { shares: (700_000_000, 200_000_000), ..Model::default() };
            for who in [HOSPITAL, OTHER_HOSPITAL, BUYER, HELPER] {
                model.balances.insert(who, INITIAL_BALANCE);
            }
            for op in ops {
                apply(&mut model, op);
                check_model(&model);
            }
        });
    }
}
