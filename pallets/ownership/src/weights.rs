//! Weights of `pallet-ownership`.
//!
//! HAND-ESTIMATED, not benchmarked: the node has no `benchmark` command yet. Replace with the
//! output of `frame-benchmarking-cli` (benchmarks in `benchmarking.rs`) once it has.
//!
//! How the numbers were obtained:
//! - storage: the reads and writes each call performs, counted from the code, priced by the
//!   runtime's `DbWeight` (RocksDB: 25 µs per read, 100 µs per write);
//! - computation: a deliberately generous allowance per call and per record (hashing of keys,
//!   SCALE decoding, sorting the batch's ids), 20 µs base and 25 µs per record;
//! - proof size: 3 600 bytes per storage item read, the size benchmarks report for a map entry
//!   of ~100 bytes under `MaxEncodedLen` (e.g. `System::Account`: 3 593).
//!
//! `register_records(n)` per record: reads `Records`, `Enrolments`, `OwnerRecordCount`;
//! writes `Records`, `OwnerRecords`, `OwnerRecordCount` (one count per distinct owner, at most
//! one per record). A unit test asserts that a batch of 1 000 stays within half of the
//! normal-class block weight of a 2 s / 75 % block.

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Weight functions needed by `pallet-ownership`.
pub trait WeightInfo {
    fn enrol() -> Weight;
    fn end_enrolment() -> Weight;
    fn register_records(n: u32) -> Weight;
    fn request_erasure() -> Weight;
    fn confirm_erasure() -> Weight;
}

/// Picoseconds in a microsecond.
const MICROS: u64 = 1_000_000;
/// Proof bytes charged per storage item read.
const PROOF_PER_READ: u64 = 3_600;

/// Weight of `compute_us` microseconds of execution plus `reads` reads and `writes` writes.
fn estimate(db: RuntimeDbWeight, compute_us: u64, reads: u64, writes: u64) -> Weight {
    Weight::from_parts(
        compute_us.saturating_mul(MICROS),
        reads.saturating_mul(PROOF_PER_READ),
    )
    .saturating_add(db.reads_writes(reads, writes))
}

fn enrol(db: RuntimeDbWeight) -> Weight {
    // reads: Enrolments, EnrolmentCount, AccountRefs, the hospital's account and holds (the
    // deposit); writes: Enrolments, EnrolmentCount, AccountRefs, the patient's account, the
    // hospital's account and holds.
    estimate(db, 20, 5, 6)
}

fn end_enrolment(db: RuntimeDbWeight) -> Weight {
    // reads: Enrolments, EnrolmentCount, the hospital's account and holds; writes: the same and
    // LastEnrolmentChange. Letting the account go: OwnerRecordCount, AccountRefs and the
    // account read, the last two written. What other pallets do then (`OnPatientReleased`)
    // is charged on top by the call.
    estimate(db, 20, 7, 7)
}

fn register_records(db: RuntimeDbWeight, n: u32) -> Weight {
    let per_record = estimate(db, 25, 3, 3);
    estimate(db, 20, 0, 0).saturating_add(per_record.saturating_mul(n.into()))
}

fn request_erasure(db: RuntimeDbWeight) -> Weight {
    // reads and writes: Records.
    estimate(db, 20, 1, 1)
}

fn confirm_erasure(db: RuntimeDbWeight) -> Weight {
    // reads: Records, OwnerRecordCount; writes: Records, OwnerRecords, OwnerRecordCount.
    // Letting the account go: EnrolmentCount, AccountRefs and the account read, the last two
    // written; what other pallets do then (`OnPatientReleased`) is charged on top by the call.
    estimate(db, 20, 5, 5)
}

/// Weights for a runtime, priced with its own `DbWeight`.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn enrol() -> Weight {
        enrol(T::DbWeight::get())
    }
    fn end_enrolment() -> Weight {
        end_enrolment(T::DbWeight::get())
    }
    fn register_records(n: u32) -> Weight {
        register_records(T::DbWeight::get(), n)
    }
    fn request_erasure() -> Weight {
        request_erasure(T::DbWeight::get())
    }
    fn confirm_erasure() -> Weight {
        confirm_erasure(T::DbWeight::get())
    }
}

/// Weights priced with RocksDB costs, for tests and runtimes without their own.
impl WeightInfo for () {
    fn enrol() -> Weight {
        enrol(RocksDbWeight::get())
    }
    fn end_enrolment() -> Weight {
        end_enrolment(RocksDbWeight::get())
    }
    fn register_records(n: u32) -> Weight {
        register_records(RocksDbWeight::get(), n)
    }
    fn request_erasure() -> Weight {
        request_erasure(RocksDbWeight::get())
    }
    fn confirm_erasure() -> Weight {
        confirm_erasure(RocksDbWeight::get())
    }
}
