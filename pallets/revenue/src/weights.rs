//! Weights of `pallet-revenue`.
//!
//! HAND-ESTIMATED, not benchmarked: the node has no `benchmark` command yet. Replace with the
//! output of `frame-benchmarking-cli` once it has (the benchmarks in `benchmarking.rs` cover
//! every call, the claim at the deepest proof).
//!
//! How the numbers were obtained:
//! - storage: the reads and writes each call performs in its worst case, counted from the code
//!   (balances' account entries included), priced by the runtime's `DbWeight`;
//! - computation: a generous 25 µs per call, plus 3 µs per proof element of a claim (one
//!   blake2-256 of 76 bytes is well under 1 µs natively, a few in wasm);
//! - proof size: 3 600 bytes per storage item read.

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Weight functions needed by `pallet-revenue`.
pub trait WeightInfo {
    fn set_shares() -> Weight;
    fn commit_root() -> Weight;
    /// A claim with a proof of `p` siblings.
    fn claim(p: u32) -> Weight;
    fn pay_owed() -> Weight;
    fn reject_root() -> Weight;
    fn report_overdue_root() -> Weight;
    /// One [`crate::Pallet::escrow_released`] (not a call: the escrow charges it).
    fn escrow_released() -> Weight;
}

/// Picoseconds in a microsecond.
const MICROS: u64 = 1_000_000;
/// Proof bytes charged per storage item read.
const PROOF_PER_READ: u64 = 3_600;
/// Base computation per call, in µs.
const BASE_US: u64 = 25;
/// Computation per proof element, in µs.
const PER_SIBLING_US: u64 = 3;

fn estimate(db: RuntimeDbWeight, compute_us: u64, reads: u64, writes: u64) -> Weight {
    Weight::from_parts(
        compute_us.saturating_mul(MICROS),
        reads.saturating_mul(PROOF_PER_READ),
    )
    .saturating_add(db.reads_writes(reads, writes))
}

fn set_shares(db: RuntimeDbWeight) -> Weight {
    // writes: Shares.
    estimate(db, BASE_US, 0, 1)
}

fn commit_root(db: RuntimeDbWeight) -> Weight {
    // reads: Earned, LatestRoot, the latest PayoutRoots entry, the delegate registry;
    // writes: PayoutRoots, LatestRoot, RootDue.
    estimate(db, BASE_US, 4, 3)
}

fn claim(db: RuntimeDbWeight, p: u32) -> Weight {
    // reads: PayoutRoots, ClaimedFrom, Earned, RevenueTotals, FreeCalls, Owed, two accounts;
    // writes: the same but PayoutRoots.
    let compute = BASE_US.saturating_add(PER_SIBLING_US.saturating_mul(p.into()));
    estimate(db, compute, 8, 7)
}

fn reject_root(db: RuntimeDbWeight) -> Weight {
    // reads: PayoutRoots, LatestRoot, RootDue; writes: PayoutRoots, RootDue.
    estimate(db, BASE_US, 3, 2)
}

fn report_overdue_root(db: RuntimeDbWeight) -> Weight {
    // reads and writes: RootDue.
    estimate(db, BASE_US, 1, 1)
}

fn pay_owed(db: RuntimeDbWeight) -> Weight {
    // reads and writes: Owed, FreeCalls, RevenueTotals, two accounts.
    estimate(db, BASE_US, 5, 5)
}

fn escrow_released(db: RuntimeDbWeight) -> Weight {
    // reads: ReleasedOrders, RevenueTotals, Shares, Earned, RootDue, two Owed entries, three
    // accounts; writes: all but Shares.
    estimate(db, BASE_US, 11, 10)
}

macro_rules! delegate_to_estimates {
    ($db:expr) => {
        fn set_shares() -> Weight {
            set_shares($db)
        }
        fn commit_root() -> Weight {
            commit_root($db)
        }
        fn claim(p: u32) -> Weight {
            claim($db, p)
        }
        fn pay_owed() -> Weight {
            pay_owed($db)
        }
        fn reject_root() -> Weight {
            reject_root($db)
        }
        fn report_overdue_root() -> Weight {
            report_overdue_root($db)
        }
        fn escrow_released() -> Weight {
            escrow_released($db)
        }
    };
}

/// Weights for a runtime, priced with its own `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    delegate_to_estimates!(T::DbWeight::get());
}

/// RocksDB costs, for tests and runtimes without their own figures.
impl WeightInfo for () {
    delegate_to_estimates!(RocksDbWeight::get());
}
