//! Property test: random sequences of buys, receipts, confirms, refunds, disputes, decisions,
//! finalizations, idle blocks, time and membership changes, run against the pallet and against
//! an independent model of every account's balances. After each step the call's success, each
//! account's free balance and both escrow holds must agree with the model, and all invariants
//! must hold.

use crate::{mock::*, Decision, HoldReason};
use frame_support::{
    traits::{fungible::InspectHold, Hooks},
    weights::Weight,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

const ACCOUNTS: [u64; 7] = [
    HOSPITAL,
    OTHER_HOSPITAL,
    NODE_KEY,
    BUYER,
    OTHER_BUYER,
    POOR_BUYER,
    REVENUE,
];
const BUYERS: [u64; 3] = [BUYER, OTHER_BUYER, POOR_BUYER];

/// The listings every run starts with: (custodian, price per record or flat, per record?, max).
const LISTINGS: [(u64, u64, bool, u32); 3] = [
    (HOSPITAL, 7, true, 20),
    (OTHER_HOSPITAL, 300, false, 50),
    (HOSPITAL, 900, false, 5),
];

#[derive(Clone, Debug)]
enum Op {
    Buy {
        buyer: usize,
        listing: usize,
    },
    Receipt {
        order: usize,
        records: u32,
        by_delegate: bool,
    },
    Confirm {
        order: usize,
    },
    Refund {
        order: usize,
    },
    Dispute {
        order: usize,
    },
    Resolve {
        order: usize,
        buyer_wins: bool,
    },
    Finalize {
        order: usize,
    },
    Advance {
        blocks: u64,
    },
    Idle,
    ToggleMembership {
        hospital: usize,
    },
}

/// Order selectors are reduced modulo the number of orders placed so far (see [`aim`]), so
/// they name an existing order whenever there is one; record counts are mostly valid for
/// every listing (1..=5), sometimes zero or above a listing's maximum.
fn op_strategy() -> impl Strategy<Value = Op> {
    let order = || 0..64usize;
    let records = prop_oneof![4 => 1..6u32, 1 => 0..25u32];
    prop_oneof![
        3 => (0..3usize, 0..3usize).prop_map(|(buyer, listing)| Op::Buy { buyer, listing }),
        4 => (order(), records, prop::bool::weighted(0.3))
            .prop_map(|(order, records, by_delegate)| Op::Receipt { order, records, by_delegate }),
        2 => order().prop_map(|order| Op::Confirm { order }),
        2 => order().prop_map(|order| Op::Refund { order }),
        3 => order().prop_map(|order| Op::Dispute { order }),
        3 => (order(), any::<bool>()).prop_map(|(order, buyer_wins)| Op::Resolve { order, buyer_wins }),
        3 => order().prop_map(|order| Op::Finalize { order }),
        4 => (1..8u64).prop_map(|blocks| Op::Advance { blocks }),
        1 => Just(Op::Idle),
        1 => (0..2usize).prop_map(|hospital| Op::ToggleMembership { hospital }),
    ]
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum ModelState {
    Paid,
    Delivered { release_at: u64 },
    Disputed { vote_expires_at: u64 },
    Closed,
}

#[derive(Clone, Debug)]
struct ModelOrder {
    buyer: u64,
    custodian: u64,
    listing: usize,
    price: u64,
    deadline: u64,
    state: ModelState,
}

/// The expected world, computed without the pallet.
struct Model {
    free: BTreeMap<u64, u64>,
    payment_held: BTreeMap<u64, u64>,
    bond_held: BTreeMap<u64, u64>,
    members: Vec<u64>,
    orders: Vec<ModelOrder>,
    release_queue: VecDeque<usize>,
    now: u64,
}

impl Model {
    fn new() -> Self {
        let mut free: BTreeMap<u64, u64> = ACCOUNTS.iter().map(|a| (*a, INITIAL_BALANCE)).collect();
        free.insert(POOR_BUYER, POOR_BALANCE);
        free.insert(REVENUE, EXISTENTIAL_DEPOSIT);
        Model {
            free,
            payment_held: BTreeMap::new(),
            bond_held: BTreeMap::new(),
            members: vec![HOSPITAL, OTHER_HOSPITAL],
            orders: vec![],
            release_queue: VecDeque::new(),
            now: 1,
        }
    }

    fn add(map: &mut BTreeMap<u64, u64>, who: u64, amount: u64) {
        *map.entry(who).or_default() += amount;
    }

    fn sub(map: &mut BTreeMap<u64, u64>, who: u64, amount: u64) {
        let entry = map.entry(who).or_default();
        *entry = entry
            .checked_sub(amount)
            .expect("model never goes negative");
    }

    /// Can `who` put `amount` on hold and keep the existential deposit free?
    fn can_hold(&self, who: u64, amount: u64) -> bool {
        self.free[&who] >= amount + EXISTENTIAL_DEPOSIT
    }

    fn release_price(&mut self, order: usize) {
        let o = self.orders[order].clone();
        Self::sub(&mut self.payment_held, o.buyer, o.price);
        Self::add(&mut self.free, REVENUE, o.price);
    }

    fn refund_price(&mut self, order: usize) {
        let o = self.orders[order].clone();
        Self::sub(&mut self.payment_held, o.buyer, o.price);
        Self::add(&mut self.free, o.buyer, o.price);
    }

    fn return_bond(&mut self, order: usize) {
        let buyer = self.orders[order].buyer;
        Self::sub(&mut self.bond_held, buyer, DISPUTE_BOND);
        Self::add(&mut self.free, buyer, DISPUTE_BOND);
    }

    /// Apply `op` to the model; return whether it should succeed.
    fn apply(&mut self, op: &Op) -> bool {
        let order_at = |i: usize| if i < self.orders.len() { Some(i) } else { None };
        match *op {
            Op::Buy { buyer, listing } => {
                let buyer = BUYERS[buyer];
                let (custodian, unit, per_record, max) = LISTINGS[listing];
                let price = if per_record {
                    unit * u64::from(max)
                } else {
                    unit
                };
                if !self.members.contains(&custodian) || !self.can_hold(buyer, price) {
                    return false;
                }
                Self::sub(&mut self.free, buyer, price);
                Self::add(&mut self.payment_held, buyer, price);
                self.orders.push(ModelOrder {
                    buyer,
                    custodian,
                    listing,
                    price,
                    deadline: self.now + DELIVERY_PERIOD,
                    state: ModelState::Paid,
                });
                true
            }
            Op::Receipt {
                order,
                records,
                by_delegate,
            } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                let o = self.orders[i].clone();
                // Only HOSPITAL has named NODE_KEY as its delegate.
                let submitter_ok = !by_delegate || o.custodian == HOSPITAL;
                let (_, unit, per_record, max) = LISTINGS[o.listing];
                if !submitter_ok
                    || o.state != ModelState::Paid
                    || !self.members.contains(&o.custodian)
                    || self.now > o.deadline
                    || records == 0
                    || records > max
                {
                    return false;
                }
                let price = if per_record {
                    unit * u64::from(records)
                } else {
                    unit
                };
                let unused = o.price - price;
                Self::sub(&mut self.payment_held, o.buyer, unused);
                Self::add(&mut self.free, o.buyer, unused);
                self.orders[i].price = price;
                self.orders[i].state = ModelState::Delivered {
                    release_at: self.now + DISPUTE_WINDOW,
                };
                self.release_queue.push_back(i);
                true
            }
            Op::Confirm { order } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                if !matches!(self.orders[i].state, ModelState::Delivered { .. }) {
                    return false;
                }
                self.release_price(i);
                self.orders[i].state = ModelState::Closed;
                true
            }
            Op::Refund { order } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                let o = &self.orders[i];
                let allowed = !self.members.contains(&o.custodian) || self.now > o.deadline;
                if o.state != ModelState::Paid || !allowed {
                    return false;
                }
                self.refund_price(i);
                self.orders[i].state = ModelState::Closed;
                true
            }
            Op::Dispute { order } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                let o = self.orders[i].clone();
                let ModelState::Delivered { release_at } = o.state else {
                    return false;
                };
                if self.now >= release_at || !self.can_hold(o.buyer, DISPUTE_BOND) {
                    return false;
                }
                Self::sub(&mut self.free, o.buyer, DISPUTE_BOND);
                Self::add(&mut self.bond_held, o.buyer, DISPUTE_BOND);
                self.orders[i].state = ModelState::Disputed {
                    vote_expires_at: self.now + VOTING_PERIOD,
                };
                true
            }
            Op::Resolve { order, buyer_wins } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                let o = self.orders[i].clone();
                let ModelState::Disputed { vote_expires_at } = o.state else {
                    return false;
                };
                if self.now > vote_expires_at {
                    return false;
                }
                if buyer_wins {
                    self.refund_price(i);
                    self.return_bond(i);
                } else {
                    self.release_price(i);
                    Self::sub(&mut self.bond_held, o.buyer, DISPUTE_BOND);
                    Self::add(&mut self.free, o.custodian, DISPUTE_BOND);
                }
                self.orders[i].state = ModelState::Closed;
                true
            }
            Op::Finalize { order } => {
                let Some(i) = order_at(order) else {
                    return false;
                };
                match self.orders[i].state {
                    ModelState::Delivered { release_at } if self.now >= release_at => {
                        self.release_price(i);
                    }
                    ModelState::Disputed { vote_expires_at } if self.now > vote_expires_at => {
                        // Default on vote expiry: delivery stands, bond returned.
                        self.release_price(i);
                        self.return_bond(i);
                    }
                    _ => return false,
                }
                self.orders[i].state = ModelState::Closed;
                true
            }
            Op::Advance { blocks } => {
                self.now += blocks;
                true
            }
            Op::Idle => {
                let mut handled = 0;
                while let Some(&i) = self.release_queue.front() {
                    if handled == MAX_AUTO_RELEASES {
                        break;
                    }
                    if let ModelState::Delivered { release_at } = self.orders[i].state {
                        if self.now < release_at {
                            break;
                        }
                        self.release_price(i);
                        self.orders[i].state = ModelState::Closed;
                    }
                    self.release_queue.pop_front();
                    handled += 1;
                }
                true
            }
            Op::ToggleMembership { hospital } => {
                let hospital = [HOSPITAL, OTHER_HOSPITAL][hospital];
                if let Some(position) = self.members.iter().position(|m| *m == hospital) {
                    self.members.remove(position);
                } else {
                    self.members.push(hospital);
                }
                true
            }
        }
    }
}

/// Apply `op` to the chain; return whether it succeeded.
fn apply_to_chain(op: &Op) -> bool {
    let order_id = |i: usize| i as u64;
    match *op {
        Op::Buy { buyer, listing } => Escrow::buy(
            RuntimeOrigin::signed(BUYERS[buyer]),
            listing as u64,
            u64::MAX,
            1,
        )
        .is_ok(),
        Op::Receipt {
            order,
            records,
            by_delegate,
        } => {
            let Some(stored) = crate::Orders::<Test>::get(order_id(order)) else {
                return false;
            };
            let submitter = if by_delegate {
                NODE_KEY
            } else {
                stored.custodian
            };
            Escrow::submit_receipt(
                RuntimeOrigin::signed(submitter),
                order_id(order),
                sp_core::H256::repeat_byte(order as u8),
                1_000,
                records,
                sp_core::H256::repeat_byte(0x5e),
                stored.delivery_key,
                stored.placed_at,
                System::block_number(),
            )
            .is_ok()
        }
        Op::Confirm { order } | Op::Refund { order } | Op::Dispute { order } => {
            let Some(stored) = crate::Orders::<Test>::get(order_id(order)) else {
                return false;
            };
            let origin = RuntimeOrigin::signed(stored.buyer);
            match op {
                Op::Confirm { .. } => Escrow::confirm(origin, order_id(order)),
                Op::Refund { .. } => Escrow::refund(origin, order_id(order)),
                _ => Escrow::dispute(origin, order_id(order)),
            }
            .is_ok()
        }
        Op::Resolve { order, buyer_wins } => {
            let decision = if buyer_wins {
                Decision::BuyerWins
            } else {
                Decision::CustodianWins
            };
            Escrow::resolve_dispute(RuntimeOrigin::root(), order_id(order), decision).is_ok()
        }
        Op::Finalize { order } => {
            Escrow::finalize(RuntimeOrigin::signed(STRANGER), order_id(order)).is_ok()
        }
        Op::Advance { blocks } => {
            System::set_block_number(System::block_number() + blocks);
            true
        }
        Op::Idle => {
            Escrow::on_idle(
                System::block_number(),
                Weight::from_parts(u64::MAX, u64::MAX),
            );
            true
        }
        Op::ToggleMembership { hospital } => {
            let hospital = [HOSPITAL, OTHER_HOSPITAL][hospital];
            Members::mutate(|members| {
                if let Some(position) = members.iter().position(|m| *m == hospital) {
                    members.remove(position);
                } else {
                    members.push(hospital);
                }
            });
            true
        }
    }
}

fn assert_chain_matches(model: &Model, step: usize, op: &Op) {
    for who in ACCOUNTS {
        let context = format!("account {who} after step {step} ({op:?})");
        assert_eq!(
            Balances::free_balance(who),
            model.free[&who],
            "free balance of {context}"
        );
        assert_eq!(
            Balances::balance_on_hold(&HoldReason::OrderPayment.into(), &who),
            model.payment_held.get(&who).copied().unwrap_or(0),
            "payment hold of {context}"
        );
        assert_eq!(
            Balances::balance_on_hold(&HoldReason::DisputeBond.into(), &who),
            model.bond_held.get(&who).copied().unwrap_or(0),
            "bond hold of {context}"
        );
    }
    check_invariants();
}

/// `op` with its order selector reduced to an order placed so far (if any).
fn aim(op: &Op, order_count: usize) -> Op {
    let pick = |selector: usize| {
        if order_count == 0 {
            selector
        } else {
            selector % order_count
        }
    };
    match op.clone() {
        Op::Receipt {
            order,
            records,
            by_delegate,
        } => Op::Receipt {
            order: pick(order),
            records,
            by_delegate,
        },
        Op::Confirm { order } => Op::Confirm { order: pick(order) },
        Op::Refund { order } => Op::Refund { order: pick(order) },
        Op::Dispute { order } => Op::Dispute { order: pick(order) },
        Op::Resolve { order, buyer_wins } => Op::Resolve {
            order: pick(order),
            buyer_wins,
        },
        Op::Finalize { order } => Op::Finalize { order: pick(order) },
        other => other,
    }
}

/// Run `ops` on a fresh chain and on the model, comparing after every step; returns each
/// op's outcome.
fn run_sequence(ops: &[Op]) -> Vec<bool> {
    new_test_ext().execute_with(|| {
        frame_support::assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        for (custodian, unit, per_record, max) in LISTINGS {
            list(
                custodian,
                if per_record {
                    crate::mock::per_record(unit, max)
                } else {
                    flat(unit, max)
                },
            );
        }
        let mut model = Model::new();
        let mut outcomes = Vec::with_capacity(ops.len());
        for (step, op) in ops.iter().enumerate() {
            let op = aim(op, model.orders.len());
            let expected = model.apply(&op);
            let actual = apply_to_chain(&op);
            assert_eq!(actual, expected, "outcome of step {step} ({op:?})");
            assert_chain_matches(&model, step, &op);
            outcomes.push(actual);
        }
        outcomes
    })
}

fn sequence_strategy() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(), 1..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn balances_follow_the_model(ops in sequence_strategy()) {
        run_sequence(&ops);
    }
}

/// Guards against a vacuous property: over a fixed-seed sample of the same sequences, every
/// kind of call both succeeds and fails at least once.
#[test]
fn random_sequences_reach_every_outcome_of_every_call() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<(&'static str, bool), u32> = BTreeMap::new();
    for _ in 0..96 {
        let ops = sequence_strategy()
            .new_tree(&mut runner)
            .expect("strategy generates")
            .current();
        for (op, succeeded) in ops.iter().zip(run_sequence(&ops)) {
            let kind = match op {
                Op::Buy { .. } => "buy",
                Op::Receipt { .. } => "receipt",
                Op::Confirm { .. } => "confirm",
                Op::Refund { .. } => "refund",
                Op::Dispute { .. } => "dispute",
                Op::Resolve { .. } => "resolve",
                Op::Finalize { .. } => "finalize",
                _ => continue,
            };
            *seen.entry((kind, succeeded)).or_default() += 1;
        }
    }
    for kind in [
        "buy", "receipt", "confirm", "refund", "dispute", "resolve", "finalize",
    ] {
        for succeeded in [true, false] {
            assert!(
                seen.contains_key(&(kind, succeeded)),
                "no {kind} {} in the sample: {seen:?}",
                if succeeded { "success" } else { "failure" }
            );
        }
    }
}
